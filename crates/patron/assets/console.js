// The admin console's progressive parts: copy buttons for ids, and live backfill progress. Every page
// works without this file.
(function () {
  'use strict';

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'absolute';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand('copy');
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error('copy refused'));
  }

  function setUpCopyButtons() {
    document.querySelectorAll('button.copy[data-copy]').forEach(function (button) {
      button.hidden = false;
      var label = button.firstChild;
      button.addEventListener('click', function () {
        copyText(button.getAttribute('data-copy')).then(function () {
          label.textContent = 'Copied';
        }, function () {
          label.textContent = 'Select and copy';
        });
        setTimeout(function () { label.textContent = 'Copy'; }, 2000);
      });
    });
  }

  function setUpBackfillProgress() {
    var section = document.querySelector('[data-backfill]');
    if (!section || section.getAttribute('data-running') !== 'true') return;
    var button = section.querySelector('button[type="submit"]');
    function update(view) {
      view.lists.forEach(function (list) {
        var row = section.querySelector('[data-list-id="' + CSS.escape(list.list_id) + '"]');
        if (!row) return;
        var bar = row.querySelector('progress');
        bar.max = list.total || 1;
        bar.value = list.total ? list.done : 0;
        bar.textContent = list.done + ' of ' + list.total;
        row.querySelector('[data-text]').textContent = list.done + ' of ' + list.total + ' members';
        row.querySelector('[data-status]').textContent = list.status.replace(/_/g, ' ');
      });
      if (!view.running) {
        section.setAttribute('data-running', 'false');
        if (button) {
          button.disabled = false;
          button.textContent = 'Start the backfill';
        }
      }
      return view.running;
    }
    function poll() {
      fetch('/admin/listrak/backfill.json', { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (view) {
          if (view && update(view)) setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    }
    poll();
  }

  document.addEventListener('DOMContentLoaded', function () {
    setUpCopyButtons();
    setUpBackfillProgress();
  });
})();
