/* Patron's members' dashboard: points, tier progress, rewards with redeem buttons, the referral link
 * and the invite-friends form, for one member, in the member's language.
 *
 * On a store page:
 *   <div id="patron-loyalty" data-patron-program="prg_…" data-patron-token="<member token>"></div>
 *   <script src="https://<patron>/assets/widget.js" async></script>
 *
 * Every element with `data-patron-program` becomes a dashboard, rendered in its own (open) shadow root
 * so that the store's CSS cannot reach it. The widget talks to Patron's member routes (/v1/me/…) with
 * `Authorization: Bearer <token>`; setting a new `data-patron-token` reloads it. The hosted page passes
 * the token in the URL fragment instead (`data-patron-token-from="fragment"`, `#token=…`).
 * Plain JavaScript, no dependencies and no build step. */
(() => {
  'use strict';

  if (window.PatronLoyalty) {
    window.PatronLoyalty.mount();
    return;
  }

  const script =
    document.currentScript ||
    Array.from(document.scripts).find((s) => /\/assets\/widget\.js([?#]|$)/.test(s.src));
  const ASSETS = new URL('.', script ? script.src : location.href);
  const PATRON = new URL('..', ASSETS);

  /* Words needed before the member's own language is known (or when Patron cannot be reached). */
  const EARLY = {
    loading: 'Loading your rewards…',
    'error.expired': 'Your session has expired. Reload the page to see your rewards.',
    'error.unavailable': 'Your rewards cannot be shown right now. Please try again later.',
    'error.not_member': 'We could not find your rewards account.',
  };

  let instances = 0;

  /** Creates an element: `h('p', {class: 'x', onclick: f}, 'text', child)`. Text is never parsed as HTML. */
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  /** Reads `#token=…` from the address and removes it, so it is not kept in the history. */
  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = params.get('token');
    if (token) {
      params.delete('token');
      const rest = params.toString();
      history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    }
    return token;
  }

  async function copyText(text, input) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      if (input) {
        input.focus();
        input.select();
        try {
          return document.execCommand('copy');
        } catch {
          return false;
        }
      }
      return false;
    }
  }

  class Dashboard {
    constructor(host) {
      this.host = host;
      this.id = `patron-${++instances}`;
      this.program = host.getAttribute('data-patron-program') || '';
      const base = host.getAttribute('data-patron-base');
      this.base = base ? new URL(base.endsWith('/') ? base : `${base}/`) : PATRON;
      this.token =
        host.getAttribute('data-patron-token-from') === 'fragment'
          ? tokenFromFragment()
          : host.getAttribute('data-patron-token');
      this.state = {
        view: 'loading',
        data: null,
        confirming: null,
        busy: null,
        redeemKey: null,
        revealed: new Map(),
        cardError: new Map(),
        copied: null,
        invite: { value: '', error: null, result: null, busy: false },
        prefsNote: null,
      };

      this.root = host.shadowRoot || host.attachShadow({ mode: 'open' });
      this.root.replaceChildren();
      const sheet = h('link', { rel: 'stylesheet', href: new URL('widget.css', ASSETS).href });
      this.frame = h('div', { class: 'patron', 'aria-busy': 'true' });
      this.frame.style.visibility = 'hidden';
      const show = () => {
        this.frame.style.visibility = '';
      };
      sheet.addEventListener('load', show);
      sheet.addEventListener('error', show);
      this.content = h('div');
      this.live = h('div', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
      this.frame.append(this.content, this.live);
      this.root.append(sheet, this.frame);

      new MutationObserver(() => {
        const token = host.getAttribute('data-patron-token');
        if (token && token !== this.token) {
          this.token = token;
          this.load();
        }
      }).observe(host, { attributes: true, attributeFilter: ['data-patron-token'] });

      this.load();
    }

    /* ---------- words ---------- */

    t(key, vars = {}) {
      const messages = (this.state.data && this.state.data.messages) || {};
      const text = messages[key] ?? EARLY[key] ?? key;
      return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
    }

    get lang() {
      return (this.state.data && this.state.data.language) || document.documentElement.lang || 'en';
    }

    number(n) {
      return new Intl.NumberFormat(this.lang).format(n);
    }

    plural(key, count) {
      let form = 'other';
      try {
        form = new Intl.PluralRules(this.lang).select(count);
      } catch {
        /* an unknown language counts like English */
      }
      const messages = (this.state.data && this.state.data.messages) || {};
      const chosen = `${key}.${form}` in messages ? `${key}.${form}` : `${key}.other`;
      return this.t(chosen, { count: this.number(count) });
    }

    points(n) {
      return this.plural('points', n);
    }

    day(isoDate) {
      const [y, m, d] = isoDate.split('-').map(Number);
      return new Intl.DateTimeFormat(this.lang, { dateStyle: 'long', timeZone: 'UTC' }).format(
        new Date(Date.UTC(y, m - 1, d)),
      );
    }

    when(instant) {
      return new Intl.DateTimeFormat(this.lang, { dateStyle: 'medium' }).format(new Date(instant));
    }

    announce(text) {
      this.live.textContent = '';
      // A fresh text node is announced even when the words repeat.
      setTimeout(() => {
        this.live.textContent = text;
      }, 50);
    }

    /* ---------- talking to Patron ---------- */

    async call(method, path, body, headers = {}) {
      const request = {
        method,
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        headers: { authorization: `Bearer ${this.token}`, ...headers },
      };
      if (this.program) request.headers['patron-program'] = this.program;
      if (body !== undefined) {
        request.headers['content-type'] = 'application/json';
        request.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(new URL(path, this.base), request);
      } catch (e) {
        console.warn(
          `Patron: ${new URL(path, this.base).origin} could not be reached from ${location.origin}. ` +
            "If Patron is up, add this page's origin to the program's settings: dashboard.allowed_origins.",
          e,
        );
        return { ok: false, status: 0, body: null };
      }
      let json = null;
      try {
        json = await response.json();
      } catch {
        /* no body */
      }
      if (response.status === 401) this.expire();
      return {
        ok: response.ok,
        status: response.status,
        body: json,
        retryAfter: Number(response.headers.get('retry-after')) || 1,
      };
    }

    expire() {
      this.state.view = 'expired';
      this.render();
    }

    async load() {
      if (!this.token) {
        this.expire();
        return;
      }
      if (!this.state.data) {
        this.state.view = 'loading';
        this.render();
      }
      const res = await this.call('GET', 'v1/me/dashboard');
      if (res.status === 401) return;
      if (!res.ok) {
        this.state.view = res.status === 404 ? 'not_member' : 'unavailable';
        this.render();
        return;
      }
      this.state.data = res.body;
      this.state.view = 'ready';
      this.render();
    }

    /** The words for a refusal: by its problem code when the dashboard has them. */
    refusal(res) {
      if (res.status === 429) return this.t('error.rate_limited', { seconds: this.number(res.retryAfter) });
      const code = res.body && res.body.code;
      const messages = (this.state.data && this.state.data.messages) || {};
      if (code && `error.${code}` in messages) return this.t(`error.${code}`);
      return this.t(res.status === 0 ? 'error.unavailable' : 'error.generic');
    }

    /* ---------- actions ---------- */

    startRedeem(reward) {
      this.state.confirming = reward.id;
      this.state.redeemKey = newKey();
      this.state.cardError.delete(reward.id);
      this.render(`confirm-${reward.id}`);
    }

    cancelRedeem(reward) {
      this.state.confirming = null;
      this.render(`redeem-${reward.id}`);
    }

    async redeem(reward) {
      this.state.busy = reward.id;
      this.render(`confirm-${reward.id}`);
      const res = await this.call(
        'POST',
        'v1/me/redemptions',
        { reward_id: reward.id },
        { 'idempotency-key': this.state.redeemKey },
      );
      this.state.busy = null;
      if (res.status === 401) return;
      this.state.confirming = null;
      if (res.ok) {
        this.state.revealed.set(reward.id, res.body.code);
        await this.load();
        this.render(`code-${reward.id}`);
        this.announce(`${this.t('rewards.code_label', { reward: reward.name })}: ${res.body.code}`);
      } else {
        const message = this.refusal(res);
        this.state.cardError.set(reward.id, message);
        if (res.status !== 429) await this.load();
        this.render(`redeem-${reward.id}`);
        this.announce(message);
      }
    }

    async copy(text, what, input) {
      const done = await copyText(text, input);
      this.state.copied = { what, done };
      this.render(`copy-${what}`);
      this.announce(this.t(done ? 'copy.done' : 'copy.failed'));
    }

    async invite(event) {
      event.preventDefault();
      const invite = this.state.invite;
      const input = this.root.getElementById(`${this.id}-emails`);
      invite.value = input.value;
      invite.result = null;
      const emails = invite.value.split(/[\s,;]+/).filter(Boolean);
      if (emails.length === 0) {
        invite.error = this.t('invite.empty');
        this.render('emails');
        this.announce(invite.error);
        return;
      }
      invite.error = null;
      invite.busy = true;
      this.render('invite-submit');
      const res = await this.call('POST', 'v1/me/referral-invitations', { emails });
      invite.busy = false;
      if (res.status === 401) return;
      if (res.ok) {
        const parts = [];
        if (res.body.invited > 0) parts.push(this.plural('invite.sent', res.body.invited));
        if (res.body.duplicates > 0) parts.push(this.plural('invite.duplicates', res.body.duplicates));
        invite.result = parts.join(' ');
        invite.value = '';
        this.render('emails');
        this.announce(invite.result);
        return;
      }
      const field = res.body && res.body.errors && res.body.errors.find((e) => /^emails\[\d+\]$/.test(e.field));
      invite.error = field
        ? this.t('invite.invalid', { email: emails[Number(field.field.match(/\d+/)[0])] })
        : this.refusal(res);
      this.render('emails');
      this.announce(invite.error);
    }

    async setEmails(wanted) {
      const res = await this.call('PUT', 'v1/me/preferences', { opted_out: !wanted });
      if (res.status === 401) return;
      if (res.ok) {
        this.state.data.member = res.body;
        this.state.prefsNote = this.t('prefs.saved');
      } else {
        this.state.prefsNote = this.refusal(res);
      }
      this.render('emails-pref');
      this.announce(this.state.prefsNote);
    }

    /* ---------- views ---------- */

    render(focusKey) {
      const view = this.state.view;
      this.frame.setAttribute('lang', this.lang);
      this.frame.setAttribute('aria-busy', String(view === 'loading'));
      let body;
      if (view === 'loading') body = h('p', { class: 'quiet' }, this.t('loading'));
      else if (view === 'ready') body = this.dashboardView();
      else body = h('p', { class: 'notice bad', role: 'alert' }, this.t(`error.${view}`));
      this.content.replaceChildren(body);
      if (focusKey) {
        const target = this.content.querySelector(`[data-key="${focusKey}"]`);
        if (target) target.focus();
      }
    }

    dashboardView() {
      const d = this.state.data;
      const ids = (name) => `${this.id}-${name}`;
      return h(
        'div',
        { class: 'dashboard' },
        h(
          'header',
          { class: 'top' },
          h('h2', { id: ids('title') }, this.t('title')),
          d.member.name ? h('p', { class: 'greeting' }, this.t('greeting', { name: d.member.name })) : null,
        ),
        h(
          'div',
          { class: 'grid' },
          this.balanceView(ids),
          d.tier.levels.length > 0 ? this.tierView(ids) : null,
          this.rewardsView(ids),
          this.referralView(ids),
          this.historyView(ids),
          this.prefsView(ids),
        ),
      );
    }

    section(ids, name, title, ...children) {
      return h(
        'section',
        { class: `card ${name}`, 'aria-labelledby': ids(`${name}-title`) },
        h('h3', { id: ids(`${name}-title`) }, title),
        ...children,
      );
    }

    balanceView(ids) {
      const b = this.state.data.balance;
      return this.section(
        ids,
        'balance',
        this.t('balance.title'),
        h(
          'p',
          { class: 'big' },
          h('span', { class: 'figure', 'data-testid': 'available' }, this.number(b.available)),
          h('span', { class: 'figure-label' }, this.t('balance.available')),
        ),
        b.pending > 0
          ? h(
              'p',
              null,
              h('span', { class: 'badge' }, this.t('balance.pending', { points: this.points(b.pending) })),
              ' ',
              h('span', { class: 'quiet' }, this.t('balance.pending_hint')),
            )
          : null,
        b.next_expiry
          ? h(
              'p',
              { class: 'expiry' },
              this.t('balance.expiry', {
                points: this.points(b.next_expiry.points),
                date: this.day(b.next_expiry.date),
              }),
            )
          : null,
      );
    }

    tierView(ids) {
      const tier = this.state.data.tier;
      const label = tier.next ? this.t('tier.progress_label', { tier: tier.next }) : this.t('tier.top');
      return this.section(
        ids,
        'tier',
        this.t('tier.title'),
        h(
          'p',
          { class: 'tier-name' },
          tier.current ? this.t('tier.current', { tier: tier.current }) : this.t('tier.none'),
        ),
        (() => {
          const fill = h('span', { class: 'fill' });
          fill.style.width = `${tier.progress_percent}%`;
          return h(
            'div',
            {
              class: 'bar',
              role: 'progressbar',
              'aria-label': label,
              'aria-valuemin': 0,
              'aria-valuemax': 100,
              'aria-valuenow': tier.progress_percent,
              'aria-valuetext': tier.next
                ? this.t('tier.to_next', { points: this.points(tier.points_to_next), tier: tier.next })
                : this.t('tier.top'),
            },
            fill,
          );
        })(),
        this.barEnds(tier),
        h(
          'p',
          { class: 'quiet' },
          tier.next
            ? this.t('tier.to_next', { points: this.points(tier.points_to_next), tier: tier.next })
            : this.t('tier.top'),
        ),
      );
    }

    /** The levels at either end of the bar, with their thresholds (the bar's own text says it all). */
    barEnds(tier) {
      const reached = tier.levels.filter((l) => l.threshold <= tier.qualifying_points).pop();
      const next = tier.levels.find((l) => l.name === tier.next);
      if (!next) return null;
      const end = (level) =>
        h('span', null, level ? `${level.name} · ${this.number(level.threshold)}` : this.number(0));
      return h('p', { class: 'bar-ends', 'aria-hidden': 'true' }, end(reached), end(next));
    }

    rewardsView(ids) {
      const rewards = this.state.data.rewards;
      return this.section(
        ids,
        'rewards',
        this.t('rewards.title'),
        rewards.length === 0
          ? h('p', { class: 'quiet' }, this.t('rewards.empty'))
          : h('ul', { class: 'reward-list', role: 'list' }, rewards.map((r) => this.rewardView(r, ids))),
      );
    }

    rewardView(reward, ids) {
      const s = this.state;
      const code = s.revealed.get(reward.id);
      const error = s.cardError.get(reward.id);
      const nameId = ids(`reward-${reward.id}`);
      let why = null;
      const status = this.state.data.member.status;
      if (status !== 'Active') why = this.t(status === 'Deleted' ? 'error.member_deleted' : 'error.member_blocked');
      else if (!reward.in_stock) why = this.t('rewards.out_of_stock');
      else if (!reward.tier_permits) why = this.t('rewards.min_tier', { tier: reward.min_tier });
      else if (!reward.affordable) why = this.t('rewards.needed', { points: this.points(reward.points_needed) });

      let action;
      if (s.confirming === reward.id) {
        const busy = s.busy === reward.id;
        action = h(
          'div',
          { class: 'confirm' },
          h(
            'p',
            { id: ids(`confirm-${reward.id}`) },
            this.t('rewards.confirm', { points: this.points(reward.points_cost), reward: reward.name }),
          ),
          h(
            'div',
            { class: 'row' },
            h(
              'button',
              {
                type: 'button',
                'data-key': `confirm-${reward.id}`,
                'aria-describedby': ids(`confirm-${reward.id}`),
                disabled: busy,
                onclick: () => this.redeem(reward),
              },
              busy ? this.t('rewards.working') : this.t('rewards.confirm_yes'),
            ),
            h(
              'button',
              { type: 'button', class: 'secondary', disabled: busy, onclick: () => this.cancelRedeem(reward) },
              this.t('rewards.cancel'),
            ),
          ),
        );
      } else if (reward.redeemable) {
        action = h(
          'button',
          {
            type: 'button',
            'data-key': `redeem-${reward.id}`,
            'aria-label': this.t('rewards.redeem_label', { reward: reward.name }),
            onclick: () => this.startRedeem(reward),
          },
          this.t('rewards.redeem'),
        );
      } else {
        action = h(
          'button',
          {
            type: 'button',
            'data-key': `redeem-${reward.id}`,
            'aria-label': this.t('rewards.redeem_label', { reward: reward.name }),
            'aria-describedby': why ? ids(`why-${reward.id}`) : false,
            disabled: true,
          },
          this.t('rewards.redeem'),
        );
      }

      return h(
        'li',
        { class: 'reward', 'aria-labelledby': nameId },
        h(
          'div',
          { class: 'reward-head' },
          h('h4', { id: nameId }, reward.name),
          h('span', { class: 'cost' }, this.t('rewards.cost', { points: this.points(reward.points_cost) })),
        ),
        why ? h('p', { class: 'quiet', id: ids(`why-${reward.id}`) }, why) : null,
        error ? h('p', { class: 'notice bad' }, error) : null,
        action,
        code
          ? h(
              'div',
              { class: 'code-box' },
              h('p', { class: 'code-label', id: ids(`code-${reward.id}`) }, this.t('rewards.code_label', { reward: reward.name })),
              h(
                'p',
                {
                  class: 'code',
                  tabindex: '-1',
                  'data-key': `code-${reward.id}`,
                  'data-testid': 'coupon-code',
                  'aria-labelledby': ids(`code-${reward.id}`),
                },
                code,
              ),
              h(
                'div',
                { class: 'row' },
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary',
                    'data-key': `copy-code-${reward.id}`,
                    onclick: () => this.copy(code, `code-${reward.id}`),
                  },
                  this.t('rewards.copy_code'),
                ),
                this.copiedNote(`code-${reward.id}`),
              ),
              h('p', { class: 'quiet' }, this.t('rewards.code_hint')),
            )
          : null,
      );
    }

    copiedNote(what) {
      const c = this.state.copied;
      if (!c || c.what !== what) return null;
      return h('span', { class: c.done ? 'note ok' : 'note bad' }, this.t(c.done ? 'copy.done' : 'copy.failed'));
    }

    referralView(ids) {
      const r = this.state.data.referral;
      const invite = this.state.invite;
      const linkId = ids('link');
      const emailsId = ids('emails');
      const hintId = ids('emails-hint');
      const errorId = ids('emails-error');
      const link = h('input', { id: linkId, type: 'text', readonly: true, value: r.referral_url, class: 'link' });
      const emails = h('input', {
        id: emailsId,
        type: 'text',
        inputmode: 'email',
        autocomplete: 'off',
        spellcheck: 'false',
        'data-key': 'emails',
        'aria-describedby': invite.error ? `${hintId} ${errorId}` : hintId,
        'aria-invalid': invite.error ? 'true' : false,
      });
      emails.value = invite.value;
      return this.section(
        ids,
        'referral',
        this.t('referral.title'),
        h('p', null, this.t('referral.intro')),
        h('label', { for: linkId }, this.t('referral.link_label')),
        h(
          'div',
          { class: 'row' },
          link,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'data-key': 'copy-link',
              onclick: () => this.copy(r.referral_url, 'link', this.root.getElementById(linkId)),
            },
            this.t('referral.copy'),
          ),
        ),
        this.copiedNote('link'),
        h(
          'form',
          { class: 'invite', novalidate: true, onsubmit: (e) => this.invite(e) },
          h('label', { for: emailsId }, this.t('invite.label')),
          h('p', { class: 'hint', id: hintId }, this.t('invite.hint')),
          emails,
          invite.error ? h('p', { class: 'field-error', id: errorId }, invite.error) : null,
          h(
            'div',
            { class: 'row' },
            h(
              'button',
              { type: 'submit', 'data-key': 'invite-submit', disabled: invite.busy },
              invite.busy ? this.t('invite.working') : this.t('invite.submit'),
            ),
          ),
          invite.result ? h('p', { class: 'notice ok' }, invite.result) : null,
        ),
      );
    }

    historyView(ids) {
      const items = this.state.data.history.items;
      return this.section(
        ids,
        'history',
        this.t('history.title'),
        items.length === 0
          ? h('p', { class: 'quiet' }, this.t('history.empty'))
          : h(
              'ul',
              { class: 'history-list', role: 'list' },
              items.map((e) =>
                h(
                  'li',
                  null,
                  h(
                    'span',
                    { class: 'what' },
                    e.description,
                    e.status === 'pending' ? [' ', h('span', { class: 'badge' }, this.t('history.pending'))] : null,
                  ),
                  h('time', { datetime: e.occurred_at, class: 'quiet' }, this.when(e.occurred_at)),
                  h(
                    'span',
                    { class: e.points >= 0 ? 'amount plus' : 'amount minus' },
                    `${e.points > 0 ? '+' : e.points < 0 ? '−' : ''}${this.number(Math.abs(e.points))}`,
                  ),
                ),
              ),
            ),
      );
    }

    prefsView(ids) {
      const m = this.state.data.member;
      const box = h('input', {
        type: 'checkbox',
        id: ids('emails-pref'),
        'data-key': 'emails-pref',
        onchange: (e) => this.setEmails(e.target.checked),
      });
      box.checked = !m.opted_out;
      return this.section(
        ids,
        'prefs',
        this.t('prefs.title'),
        h('div', { class: 'check' }, box, h('label', { for: ids('emails-pref') }, this.t('prefs.emails'))),
        this.state.prefsNote ? h('p', { class: 'note ok' }, this.state.prefsNote) : null,
      );
    }
  }

  const mounted = new WeakMap();

  /** Turns every element with `data-patron-program` not yet mounted into a dashboard. */
  function mount() {
    for (const host of document.querySelectorAll('[data-patron-program]')) {
      if (!mounted.has(host)) mounted.set(host, new Dashboard(host));
    }
  }

  window.PatronLoyalty = {
    mount,
    /** Reloads the dashboards, e.g. after the store recorded a purchase. */
    refresh() {
      for (const host of document.querySelectorAll('[data-patron-program]')) {
        const d = mounted.get(host);
        if (d) d.load();
      }
    },
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mount);
  else mount();
})();
