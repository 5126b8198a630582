// The login policy editor's preview, live: as fields change, the embedded login page preview
// (an iframe of …/login/preview) is reloaded with the form's values in its query (draft=1),
// a moment after the last change. Nothing is saved; without this file the "Preview these
// settings" button does the same with a round trip.
document.addEventListener('DOMContentLoaded', () => {
  const frame = document.querySelector('iframe[data-preview-of]');
  const form = frame && document.getElementById(frame.dataset.previewOf);
  if (!form) return;
  const help = document.getElementById(frame.getAttribute('aria-describedby'));
  const opener = frame.parentElement.querySelector('a[target="_blank"]');
  let timer;
  const refresh = () => {
    const query = new URLSearchParams({ draft: '1' });
    for (const [name, value] of new FormData(form)) {
      if (name !== '_csrf' && name !== 'version' && typeof value === 'string') query.append(name, value);
    }
    const src = `${frame.dataset.previewBase}?${query.toString()}`;
    if (frame.getAttribute('src') === src) return;
    frame.setAttribute('src', src);
    if (opener) opener.setAttribute('href', src);
    if (help) help.textContent = frame.dataset.previewFormText;
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  };
  form.addEventListener('input', later);
  form.addEventListener('change', later);
});
