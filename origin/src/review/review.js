// The review page's one script: the copy button beside the embed snippet.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  var said = document.getElementById("said");
  var done = function (text) { said.hidden = false; said.textContent = text; };
  var text = source.value || source.textContent;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done("Embed snippet copied."); },
      function () { source.select(); done("Select the snippet and copy it (Ctrl+C)."); });
  } else {
    source.focus(); source.select();
    done(document.execCommand && document.execCommand("copy") ? "Embed snippet copied." : "Select the snippet and copy it (Ctrl+C).");
  }
});
