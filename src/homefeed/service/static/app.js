// Clicking a card sends a click event; "Not for me" sends a dislike. Then the page reloads,
// so the homepage shown is the one the engine builds after that event.
(function () {
  // the operator's view (each item's source and score) stays behind a toggle, remembered
  const toggle = document.getElementById("engine-details");
  if (toggle) {
    const shown = window.localStorage && localStorage.getItem("homefeed-engine-details") === "1";
    toggle.checked = shown;
    document.body.classList.toggle("engine-details", shown);
    toggle.addEventListener("change", function () {
      document.body.classList.toggle("engine-details", toggle.checked);
      if (window.localStorage) localStorage.setItem("homefeed-engine-details", toggle.checked ? "1" : "0");
    });
  }
  // a picture that cannot be fetched gives way to the card's placeholder
  function placeholder(image) {
    const picture = image.closest(".picture");
    if (!picture) return;
    const box = document.createElement("div");
    box.className = "placeholder";
    box.setAttribute("aria-hidden", "true");
    const letter = document.createElement("span");
    letter.textContent = picture.dataset.initial || "";
    box.appendChild(letter);
    image.replaceWith(box);
  }
  document.addEventListener("error", function (event) {
    if (event.target.tagName === "IMG") placeholder(event.target);
  }, true);
  document.querySelectorAll(".picture img").forEach(function (image) {
    if (image.complete && image.naturalWidth === 0) placeholder(image);  // failed before this ran
  });
  const section = document.getElementById("homepage");  // every row of the page
  if (!section) return;
  const status = document.getElementById("status");
  const userId = section.dataset.userId;

  function newEventId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "web-" + Date.now() + "-" + Math.random().toString(16).slice(2);
  }

  async function send(itemId, type) {
    status.textContent = "Sending " + type + " on " + itemId + "…";
    const body = { events: [{ event_id: newEventId(), user_id: userId, item_id: itemId, type: type,
                              context: { surface: "web", device: section.dataset.device,
                                         request_id: section.dataset.requestId } }] };
    // with keys set, the page acts as the user with a token minted for them alone
    const headers = { "Content-Type": "application/json" };
    if (section.dataset.token) headers.Authorization = "Bearer " + section.dataset.token;
    const response = await fetch("/v1/events", { method: "POST", headers: headers, body: JSON.stringify(body) });
    if (!response.ok) {
      const error = await response.json().catch(() => ({}));
      status.textContent = "Could not send the event: " + (error.message || response.status);
      return;
    }
    window.location.reload();
  }

  section.addEventListener("click", function (event) {
    const card = event.target.closest(".card");
    if (!card) return;
    const type = event.target.closest(".dislike") ? "dislike" : "click";
    send(card.dataset.itemId, type);
  });
  section.addEventListener("keydown", function (event) {
    const card = event.target.closest(".card");
    if (card && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); send(card.dataset.itemId, "click"); }
  });
})();
