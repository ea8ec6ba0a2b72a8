// Opens the care instructions with window.open and says whether the browser allowed it.
(function () {
  var btn = document.getElementById("open-window");
  var out = document.getElementById("popup-result");
  btn.addEventListener("click", function () {
    var w = window.open(btn.dataset.href, "_blank");
    out.textContent = w ? "window.open → a new window was opened" : "window.open → blocked by the browser";
  });
})();
