// htmx from the CDN did not load (an intranet without internet): load our own copy of the same file instead.
// Deferred right after the CDN's tag, so it runs once that one has loaded or failed. Not inline, so the
// Content-Security-Policy can keep forbidding inline script.
(function () {
  "use strict";

  var self = document.currentScript;
  var contentLoaded = false;
  document.addEventListener("DOMContentLoaded", function () {
    contentLoaded = true;
  });

  if (window.htmx || !self) {
    return;
  }
  var script = document.createElement("script");
  script.src = self.dataset.src;
  script.integrity = self.dataset.integrity; // the same pinned file: the same hash
  script.crossOrigin = "anonymous";
  script.addEventListener("load", function () {
    // htmx starts itself on DOMContentLoaded (reading its htmx-config, processing the page), or at once when
    // the page has finished loading. Loaded in between, it waits for an event that has passed: send it again.
    if (contentLoaded && document.readyState !== "complete") {
      document.dispatchEvent(new Event("DOMContentLoaded"));
    }
  });
  document.head.appendChild(script);
})();
