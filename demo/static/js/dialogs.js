// Shows alert, confirm and prompt, and writes each answer into the page.
(function () {
  var list = document.getElementById("dialog-results");
  var empty = document.getElementById("dialog-empty");
  function record(text) {
    var li = document.createElement("li");
    li.textContent = text;
    list.appendChild(li);
    empty.hidden = true;
  }
  document.querySelectorAll("button[data-dialog]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      switch (btn.dataset.dialog) {
        case "alert":
          window.alert("Your order has shipped! (a demo alert)");
          record("alert → closed");
          break;
        case "confirm":
          record("confirm → " + window.confirm("Remove the Ridgeline 2P Tent from your wish list?"));
          break;
        case "prompt":
          var v = window.prompt("What is your favourite trail?", "Ridgeline");
          record("prompt → " + (v === null ? "null (cancelled)" : JSON.stringify(v)));
          break;
      }
    });
  });
})();
