// Identity checks at the desk: record a few seconds of the visitor's face from the
// camera as JPEG frames, or snap a document photo, and put them in the form's file input,
// so the same form also works as a plain upload without a camera or without JavaScript.
(() => {
  "use strict";

  const FRAMES = 8;
  const SPAN_MS = 3000;
  const WIDTH = 640;
  let stream = null;

  const hasCamera = () => Boolean(navigator.mediaDevices?.getUserMedia);

  const stop = () => {
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
  };

  const open = async (video) => {
    stop();
    stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: WIDTH }, facingMode: "user" },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
    if (!video.videoWidth) {
      await new Promise((resolve) => video.addEventListener("loadeddata", resolve, { once: true }));
    }
  };

  const snap = (video) =>
    new Promise((resolve) => {
      const canvas = document.createElement("canvas");
      const scale = Math.min(1, WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(resolve, "image/jpeg", 0.88);
    });

  const putFiles = (input, blobs, stem) => {
    const files = new DataTransfer();
    blobs.forEach((blob, index) => {
      files.items.add(new File([blob], `${stem}-${index + 1}.jpg`, { type: "image/jpeg" }));
    });
    input.files = files.files;
  };

  const show = () => {
    if (!hasCamera()) return;
    document.querySelectorAll("[data-camera-controls], [data-snapshot-controls]").forEach((el) => {
      el.hidden = false;
    });
  };

  document.addEventListener("click", async (event) => {
    const start = event.target.closest("[data-camera-start]");
    const capture = event.target.closest("[data-camera-capture]");
    const take = event.target.closest("[data-snapshot-take]");
    if (!start && !capture && !take) return;
    const section = event.target.closest("[data-face-check], [data-snapshot]");
    const status = section.querySelector("[data-camera-status], [data-snapshot-status]");
    try {
      if (start) {
        const video = section.querySelector("[data-camera-preview]");
        await open(video);
        video.hidden = false;
        section.querySelector("[data-camera-placeholder]")?.setAttribute("hidden", "");
        section.querySelector("[data-camera-capture]").disabled = false;
        status.textContent = status.dataset.ready || "";
      } else if (capture) {
        const video = section.querySelector("[data-camera-preview]");
        capture.disabled = true;
        const frames = [];
        for (let index = 0; index < FRAMES; index += 1) {
          frames.push(await snap(video));
          status.textContent = `${index + 1} / ${FRAMES}`;
          await new Promise((resolve) => setTimeout(resolve, SPAN_MS / FRAMES));
        }
        stop();
        const form = section.querySelector("[data-face-form]");
        putFiles(form.querySelector("input[type=file]"), frames, "face");
        form.requestSubmit();
      } else {
        const video = document.createElement("video");
        video.muted = true;
        video.playsInline = true;
        await open(video);
        await new Promise((resolve) => setTimeout(resolve, 400)); // let exposure settle
        const photo = await snap(video);
        stop();
        putFiles(section.querySelector("input[type=file]"), [photo], "document");
        status.textContent = "✓";
      }
    } catch (error) {
      stop();
      status.textContent = `${error.name || "Error"}: ${error.message || ""}`;
    }
  });

  document.addEventListener("htmx:beforeSwap", stop);
  document.addEventListener("htmx:afterSettle", show);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", show);
  } else {
    show();
  }
})();
