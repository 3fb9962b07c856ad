// Autocomplete list filters: picking (or clearing) an object reloads the list filtered by it.
// Select2 reports changes through jQuery, so listen with the admin's jQuery, once every script
// of the page (whatever order the admin's media merge gave them) has run.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const $ = window.django && window.django.jQuery;
  if (!$) return;
  $("select[data-autocomplete-filter]").on("change", function () {
    const params = new URLSearchParams(window.location.search);
    const name = this.dataset.autocompleteFilter;
    if (this.value) {
      params.set(name, this.value);
    } else {
      params.delete(name);
    }
    params.delete("p");  // back to the first page
    params.delete("e");
    window.location.search = params.toString();
  });
});
