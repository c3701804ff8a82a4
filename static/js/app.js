// Small behaviours that need no framework; loaded by every page.
(() => {
  "use strict";

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });

  // Live screens: the server pushes complete regions with the sequence number of the
  // floor they show. A message older than what the page shows is dropped.
  const seqOf = (html) => {
    const match = /id="live-seq" data-seq="(\d+)"/.exec(html);
    return match ? Number(match[1]) : null;
  };
  const shownSeq = () => Number(document.getElementById("live-seq")?.dataset.seq || 0);

  document.addEventListener("htmx:wsBeforeMessage", (event) => {
    const seq = seqOf(event.detail.message);
    if (seq !== null && seq < shownSeq()) {
      event.preventDefault();
    }
  });

  // After a restart every live screen reconnects. htmx's default backoff waits up to 64 s
  // once a few tries failed; a board or a phone in the room should be back within
  // seconds. Random below the cap, so a thousand phones do not knock at the same instant.
  const RECONNECT_CAP_MS = 5000;
  if (window.htmx) {
    window.htmx.config.wsReconnectDelay = (retries) =>
      Math.min(RECONNECT_CAP_MS, 500 * 2 ** retries) * Math.random();
  }

  // A lost connection is retried by htmx; a refusal (4401 signed out, 4403 not allowed,
  // 4404 ticket expired) is final, and the page says so instead of promising a retry.
  const banner = () => document.getElementById("connection-lost");
  const showBanner = (refused) => {
    const element = banner();
    if (!element) return;
    element.querySelector("[data-lost]")?.toggleAttribute("hidden", refused);
    element.querySelector("[data-refused]")?.toggleAttribute("hidden", !refused);
    element.removeAttribute("hidden");
  };
  document.addEventListener("htmx:wsClose", (event) => {
    const code = event.detail?.event?.code ?? 1006;
    if (code === 1000) return;
    showBanner(code >= 4400 && code < 4500);
  });
  document.addEventListener("htmx:wsError", () => showBanner(false));
  document.addEventListener("htmx:wsOpen", () => banner()?.setAttribute("hidden", ""));

  // Waiting-room board: speak every call once, in Chinese and English.
  const board = document.querySelector("[data-board]");
  const spokenKey = board ? `walkin-board-spoken-${board.dataset.board}` : null;
  const speak = (text, lang) => {
    if (!("speechSynthesis" in window)) return;
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = lang;
    window.speechSynthesis.speak(utterance);
  };
  const announceCalls = () => {
    if (!board) return;
    const calls = [...document.querySelectorAll("[data-call-seq]")]
      .map((item) => ({ seq: Number(item.dataset.callSeq), ...item.dataset }))
      .sort((a, b) => a.seq - b.seq);
    const stored = localStorage.getItem(spokenKey);
    const lastSpoken = stored === null ? null : Number(stored);
    const newest = calls.length ? calls[calls.length - 1].seq : 0;
    if (lastSpoken === null) {
      // A board that just started does not replay calls made before it was on.
      localStorage.setItem(spokenKey, String(newest));
      return;
    }
    for (const call of calls.filter((c) => c.seq > lastSpoken)) {
      const spelled = call.code.split("").join(" ");
      speak(`请 ${call.code} 号到 ${call.desk} 号窗口`, "zh-CN");
      speak(`Ticket ${spelled}, please go to desk ${call.desk}`, "en-US");
    }
    localStorage.setItem(spokenKey, String(Math.max(newest, lastSpoken)));
  };

  // Visitor's phone: a sound and a vibration for each call of this ticket.
  let audio = null;
  const beep = () => {
    if (!audio) return;
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.3, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.8);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.8);
  };
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-sound-toggle]");
    if (!toggle) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (Context && !audio) audio = new Context();
    audio?.resume();
    toggle.setAttribute("aria-pressed", "true");
    beep();
  });
  const alertIfCalled = () => {
    const status = document.getElementById("status");
    if (!status || status.dataset.status !== "CALLED") return;
    const key = `walkin-called-${status.dataset.ticket}`;
    const calls = Number(status.dataset.calls || 0);
    if (Number(sessionStorage.getItem(key) || 0) >= calls) return;
    sessionStorage.setItem(key, String(calls));
    beep();
    navigator.vibrate?.([400, 200, 400, 200, 400]);
    status.querySelector(".alert-call")?.focus?.();
  };

  // Screen readers: a pushed change of the queue is read out once, politely, from a live
  // region that is never swapped (a replaced region is often not announced).
  let lastAnnounced = null;
  const queueSummary = () => {
    const position = document.querySelector("#position .position");
    if (position) return position.textContent.replace(/\s+/g, " ").trim();
    const calls = [...document.querySelectorAll("[data-call-seq]")].sort(
      (a, b) => Number(a.dataset.callSeq) - Number(b.dataset.callSeq),
    );
    const newest = calls[calls.length - 1];
    return newest ? newest.textContent.replace(/\s+/g, " ").trim() : "";
  };
  const announceQueue = () => {
    const summary = queueSummary();
    const region = document.getElementById("live-announcer");
    if (region && lastAnnounced !== null && summary && summary !== lastAnnounced) {
      region.textContent = summary;
    }
    lastAnnounced = summary;
  };

  const afterUpdate = () => {
    announceCalls();
    alertIfCalled();
    announceQueue();
  };
  document.addEventListener("htmx:wsAfterMessage", afterUpdate);
  document.addEventListener("DOMContentLoaded", afterUpdate);

  // Keyboard and screen-reader users: after a swap they asked for (not a push), focus
  // goes to the region's first error, or to its heading when the focused control was
  // swapped away; a control that is still there (a select that loaded questions) keeps it.
  const focusOn = (element) => {
    if (!element) return false;
    if (!element.matches("input, select, textarea, button, a[href], [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return true;
  };
  document.addEventListener("htmx:afterSettle", (event) => {
    if (!event.detail.xhr) return;
    const swapped = event.detail.target;
    const region = (swapped?.id && document.getElementById(swapped.id)) || swapped;
    if (!region?.isConnected) return;
    const invalid = region.querySelector(
      ".invalid input:not([type=hidden]), .invalid select, .invalid textarea",
    );
    if (focusOn(invalid || region.querySelector(".error, [role=alert]"))) return;
    const active = document.activeElement;
    if (active && active !== document.body && active.isConnected) return;
    focusOn(region.querySelector("h1, h2, h3") || region);
  });

  // Kiosk: large-text mode in place, remembered in a cookie (the form posts without
  // JavaScript, which reloads the page).
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-large-text]");
    if (!toggle) return;
    event.preventDefault();
    const on = !document.documentElement.classList.contains("large-text");
    document.documentElement.classList.toggle("large-text", on);
    toggle.setAttribute("aria-pressed", String(on));
    toggle.form?.querySelector("[name=large]")?.setAttribute("value", on ? "0" : "1");
    document.cookie = `walkin_large_text=${on ? 1 : 0}; path=/; max-age=2592000; samesite=lax`;
  });
})();
