// boot.js runs before the map library has loaded and starts what the page
// needs first, so that it arrives while the library is parsed: the
// enumerations and their names (GET /api/v1/meta), the schools (GET
// /api/v1/map?format=compact, or the map of a past moment with ?at= in the
// page's address), the outlines, and the live stream, opened before the map
// so that no change between the two is missed. app.js takes them over.
(function () {
  "use strict";
  var at = new URLSearchParams(location.search).get("at");
  var queue = [];
  var buffer = function (e) { queue.push(e); };
  var stream = null;
  if (typeof EventSource === "function") {
    stream = new EventSource("/api/v1/stream");
    stream.addEventListener("level", buffer);
    stream.addEventListener("reset", buffer);
    stream.addEventListener("alert", buffer);
  }
  window.sanseBoot = {
    at: at,
    meta: fetch("/api/v1/meta"),
    map: fetch("/api/v1/map?format=compact" + (at ? "&at=" + encodeURIComponent(at) : "")),
    boundaries: fetch("/api/v1/boundaries"),
    stream: stream,
    queue: queue,
    buffer: buffer,
  };
})();
