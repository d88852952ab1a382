// Progressive enhancement: the "Kopieer" buttons of shortened identifiers (_ident.html).
document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.textContent = "Gekopieerd";
    });
  });
});
