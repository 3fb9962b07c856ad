// The front-channel logout page (templates/oauth/logout_frontchannel.html): once every client's
// logout page has loaded in its hidden iframe (or after WAIT_MS, so that a client that is down
// cannot keep the person here), go on to the "Continue" link's address, if there is one.
// Loaded in <head>, before the iframes exist: a capturing listener on the document hears every
// iframe's load event (load does not bubble, but it is captured), however fast it comes.
(function () {
  "use strict";
  var WAIT_MS = 5000;
  var loaded = new Set();
  var gone = false;

  function frames() {
    return document.querySelectorAll("iframe.frontchannel-logout");
  }

  function goOn() {
    if (gone) return;
    gone = true;
    var status = document.getElementById("frontchannel-status");
    if (status) status.textContent = "You are signed out of the apps you used in this session.";
    var link = document.getElementById("frontchannel-continue");
    if (link) window.location.replace(link.href);
  }

  function checkAll() {
    if (document.readyState === "loading") return;
    var all = frames();
    for (var i = 0; i < all.length; i++) {
      if (!loaded.has(all[i])) return;
    }
    goOn();
  }

  document.addEventListener(
    "load",
    function (event) {
      if (event.target instanceof HTMLIFrameElement && event.target.classList.contains("frontchannel-logout")) {
        loaded.add(event.target);
        checkAll();
      }
    },
    true
  );
  document.addEventListener("DOMContentLoaded", function () {
    checkAll();
    window.setTimeout(goOn, WAIT_MS);
  });
})();
