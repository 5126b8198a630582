/*
 * Passkey ceremonies for the server-rendered pages. Loaded after @simplewebauthn/browser's bundle
 * (/ui/login/assets/webauthn.js, which defines window.SimpleWebAuthnBrowser); no inline script.
 *
 * A page marks a form with data-passkey="register" or "authenticate" and gives the options the
 * server made in data-options (JSON). The form is hidden until this script finds WebAuthn in the
 * browser. Submitting it runs the ceremony, puts the authenticator's answer (JSON) into the
 * form's "response" field and submits it for real; the server verifies it. A form with
 * data-autofill also offers its passkeys in the username field's autofill (conditional UI).
 */
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  function showError(form, error) {
    var box = form.querySelector('[data-passkey-error]');
    if (!box) return;
    var cancelled = error && (error.name === 'NotAllowedError' || error.name === 'AbortError');
    box.textContent = (cancelled ? form.dataset.cancelledText : form.dataset.errorText) || (error && error.message) || '';
    box.hidden = false;
  }

  function send(form, answer) {
    form.querySelector('input[name="response"]').value = JSON.stringify(answer);
    form.dataset.sent = 'yes';
    form.submit();
  }

  function ceremony(form, opts) {
    var optionsJSON = JSON.parse(form.dataset.options);
    if (form.dataset.passkey === 'register') return lib.startRegistration({ optionsJSON: optionsJSON });
    return lib.startAuthentication(Object.assign({ optionsJSON: optionsJSON }, opts || {}));
  }

  var forms = document.querySelectorAll('form[data-passkey]');
  Array.prototype.forEach.call(forms, function (form) {
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      if (form.dataset.sent === 'yes') return;
      event.preventDefault();
      var button = form.querySelector('button[type="submit"]');
      if (button) button.disabled = true;
      ceremony(form).then(
        function (answer) {
          send(form, answer);
        },
        function (error) {
          if (button) button.disabled = false;
          showError(form, error);
        },
      );
    });
    if (form.dataset.autofill === 'yes' && lib.browserSupportsWebAuthnAutofill) {
      lib.browserSupportsWebAuthnAutofill().then(function (supported) {
        if (!supported) return;
        // Resolves when the user picks a passkey in the username field's suggestions;
        // a click on the button above aborts this wait and runs its own ceremony.
        ceremony(form, { useBrowserAutofill: true }).then(
          function (answer) {
            send(form, answer);
          },
          function () {
            /* aborted or dismissed */
          },
        );
      });
    }
  });
})();
