/* The export page's "Select all" checkbox, wired here instead of an inline change handler attribute
   (templates/admin/import_export/export.html). onSelectToggleChange is django-import-export's,
   from export_selectable_fields.js. */
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input.select-toggle").forEach((toggle) => {
    toggle.addEventListener("change", (event) => onSelectToggleChange(event));
  });
});
