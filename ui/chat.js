// The chat page's script, put in the page head by ui/app.py. Scripts inside chat
// messages never run; this one does.
(() => {
  const sheet = document.createElement("style");
  sheet.textContent = `
#rag-drawer-close { display: none; }
@media (max-width: 768px) {
  body.rag-drawer-open #rag-side { position: fixed; inset: 12vh 0 0 0; z-index: 1000;
    background: var(--background-fill-primary); overflow-y: auto; padding: .6em;
    box-shadow: 0 -4px 16px rgba(0, 0, 0, .3); border-radius: 12px 12px 0 0;
    display: flex; flex-direction: column; flex-wrap: nowrap; }
  body.rag-drawer-open #rag-side > * { width: 100%; min-width: 0; flex: none; }
  body.rag-drawer-open #rag-drawer-close { display: block; }
  .rag-viewer-doc { max-height: 55vh; }
}`;
  document.head.appendChild(sheet);
})();
(() => {
  const send = (value) => {
    const box = document.querySelector("#rag-opener textarea, #rag-opener input");
    if (!box) return;
    box.value = JSON.stringify({...value, nonce: Date.now()});
    box.dispatchEvent(new Event("input", {bubbles: true}));
  };
  document.addEventListener("click", (event) => {
    const copy = event.target.closest("a.rag-copy");
    if (copy) {
      event.preventDefault();
      const message = copy.parentElement.parentElement;
      const answer = message.querySelector(".rag-answer");
      const sources = [...message.querySelectorAll(".rag-source-head")].map((s) => s.innerText);
      const text = (answer ? answer.innerText : "") +
        (sources.length ? "\n\nSources:\n" + sources.join("\n") : "");
      navigator.clipboard.writeText(text).then(() => { copy.textContent = "Copied"; });
      return;
    }
    const nav = event.target.closest("a.rag-nav");
    if (nav) {
      event.preventDefault();
      send({nav: Number((nav.getAttribute("href") || "").split(":")[1])});
      return;
    }
    const link = event.target.closest("a.rag-cite, a.rag-open");
    if (!link) return;
    event.preventDefault();
    let current = link.getAttribute("href") || "";
    if (link.classList.contains("rag-cite")) {
      const n = current.replace("#rag-src-", "");
      let scope = link.parentElement, found = null;
      while (scope && !found) {
        found = scope.querySelector(`a.rag-open[href^="#rag-open:${n}:"]`);
        scope = scope.parentElement;
      }
      if (!found) return;
      current = found.getAttribute("href");
      link.dataset.ragScope = "";
    }
    let scope = link.parentElement;
    while (scope && !scope.querySelector(".rag-sources")) scope = scope.parentElement;
    const refs = scope ? [...scope.querySelector(".rag-sources").querySelectorAll("a.rag-open")]
      .map((a) => a.getAttribute("href")) : [current];
    send({refs, current: Math.max(0, refs.indexOf(current))});
    if (window.matchMedia("(max-width: 768px)").matches) {
      document.body.classList.add("rag-drawer-open");
    }
  });
  // An empty question, or one sent while an answer is written, is refused here, out
  // loud, before it reaches the server or the chat; the typed text stays in the box.
  const busy = () => !!document.querySelector("#rag-question [data-testid=stop-button]");
  const note = (text) => {
    let el = document.querySelector("#rag-note");
    if (!el) {
      el = document.createElement("div");
      el.id = "rag-note";
      el.setAttribute("role", "status");
      document.querySelector("#rag-question").after(el);
    }
    el.textContent = text;
    clearTimeout(el.ragTimer);
    el.ragTimer = setTimeout(() => el.remove(), 8000);
  };
  const refuse = (event) => {
    const box = document.querySelector("#rag-question textarea");
    if (!box) return;
    if (!box.value.trim()) {
      box.placeholder = "Type a question first.";
      box.setAttribute("aria-invalid", "true");
    } else if (busy()) {
      note("An answer is still being written: wait for it, or press Stop (Esc). " +
           "Your question stays in the box.");
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    box.focus();
  };
  document.addEventListener("keypress", (event) => {
    if (event.key === "Enter" && !event.shiftKey && event.target.closest("#rag-question")) {
      refuse(event);
    }
  }, true);
  document.addEventListener("click", (event) => {
    if (event.target.closest("#rag-question [data-testid=submit-button]")) refuse(event);
  }, true);
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("#rag-question")) {
      event.target.removeAttribute("aria-invalid");
    }
  }, true);
  // The chat labels each message with its raw HTML for screen readers: give them the
  // words instead.
  const readable = () => {
    document.querySelectorAll("#rag-chat [aria-label]").forEach((el) => {
      const label = el.getAttribute("aria-label") || "";
      const kind = label.match(/^(user's message|bot's message|Question|Answer): /);
      if (!kind) return;
      const part = el.querySelector(".rag-answer, .rag-step, .rag-stopped") || el;
      const words = part.innerText.replace(/\s+/g, " ").trim().slice(0, 500);
      const bot = kind[1] === "bot's message" || kind[1] === "Answer";
      const wanted = (bot ? "Answer: " : "Question: ") + words;
      if (label !== wanted) el.setAttribute("aria-label", wanted);
    });
  };
  let queued = false;
  const soon = () => {  // once a frame at most, however fast an answer streams
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; readable(); });
  };
  new MutationObserver(soon).observe(document.documentElement,
    {subtree: true, childList: true, characterData: true, attributes: true,
     attributeFilter: ["aria-label"]});
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const stop = document.querySelector("#rag-question [data-testid=stop-button]");
    if (stop) stop.click();
    document.body.classList.remove("rag-drawer-open");
  });
})();
