// Live reload for `mulighetskart serve`: reload after a good build, show the problem after a bad one.
(function () {
  var events = new EventSource("/__events");
  events.addEventListener("reload", function () { location.reload(); });
  events.addEventListener("problem", function (e) {
    var box = document.getElementById("problem");
    if (!box) return;
    box.textContent = JSON.parse(e.data).problem;
    box.hidden = false;
  });
})();
