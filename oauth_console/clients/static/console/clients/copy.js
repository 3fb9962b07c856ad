// "Copy" buttons: copy the value of the input named by data-copy-target to the clipboard.
// The buttons come hidden and are shown once they work: without this script (or before it has
// run, on a slow page) there is no button that does nothing when pressed.
"use strict";
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    const input = document.getElementById(button.dataset.copyTarget);
    const status = document.getElementById("copy-status");
    const done = function () {
      button.textContent = "Copied";
      if (status) status.textContent = "Copied to the clipboard.";
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      // Plain-http development: the Clipboard API is unavailable, the older command still works.
      document.execCommand("copy");
      done();
    }
  });
});
