// The trail cam: a hiker walks the ridge and a clock runs on every animation frame, so
// the page never stops producing frames (unless paused, below). The probe flips colour on every mouse press and
// key press, in the capture phase so that nothing on the page can swallow the event.
(function () {
  var probe = document.getElementById("probe");
  function flip() {
    var next = probe.dataset.state === "black" ? "white" : "black";
    probe.dataset.state = next;
    probe.style.backgroundColor = next === "black" ? "#000" : "#fff";
  }
  window.addEventListener("mousedown", flip, true);
  window.addEventListener("keydown", flip, true);

  var hiker = document.getElementById("hiker");
  var sun = document.getElementById("sun");
  var clock = document.getElementById("clock");
  var fpsOut = document.getElementById("fps");
  var frames = 0, fpsSince = performance.now();
  function pad(n, w) { return String(n).padStart(w, "0"); }
  function ridgeY(x) { return 262 - 10 * Math.sin(x / 60) - 6 * Math.sin(x / 23); }
  function tick(now) {
    var x = (now / 12 + 300) % 840 - 20;
    hiker.setAttribute("transform", "translate(" + x.toFixed(1) + " " + ridgeY(x).toFixed(1) + ")");
    sun.setAttribute("cy", (70 + 12 * Math.sin(now / 2000)).toFixed(1));
    var d = new Date();
    clock.textContent = pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
    frames++;
    if (now - fpsSince >= 1000) {
      fpsOut.textContent = Math.round(frames * 1000 / (now - fpsSince)) + " fps";
      frames = 0;
      fpsSince = now;
    }
    requestAnimationFrame(tick);
  }
  // /animated?paused stays still, its probe still flipping: input latency on a still page.
  if (new URLSearchParams(location.search).has("paused")) {
    clock.textContent = "paused";
    return;
  }
  requestAnimationFrame(tick);
})();
