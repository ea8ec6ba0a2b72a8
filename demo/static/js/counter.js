// Live character counter for text areas with data-counter="ID-of-the-counter".
(function () {
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var out = document.getElementById(area.dataset.counter);
    var max = area.maxLength > 0 ? area.maxLength : 0;
    function update() {
      var n = Array.from(area.value).length;
      out.textContent = max ? n + " / " + max : String(n);
      out.classList.toggle("near-limit", max > 0 && n > max * 0.9);
    }
    area.addEventListener("input", update);
    update();
  });
})();
