// Progressive enhancement only: every page works without this file.
// Copy buttons: <button data-copy="ID" hidden> copies the value of the input with that id.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    button.hidden = false;
    var status = document.getElementById("copy-status");
    var say = function (text) { if (status) status.textContent = text; };
    button.addEventListener("click", function () {
      input.select();
      var done = function () { button.textContent = "Copied"; say("Copied to the clipboard."); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          say("Copy did not work here: the text is selected, press Ctrl+C (or ⌘C).");
        });
      } else {
        // Plain http on another host: the async clipboard API is off, the old way still works.
        try { document.execCommand("copy") ? done() : say("The text is selected: press Ctrl+C (or ⌘C)."); }
        catch (e) { say("The text is selected: press Ctrl+C (or ⌘C)."); }
      }
    });
  });
});
