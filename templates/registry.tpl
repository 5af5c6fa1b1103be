{{%AUTOESCAPE context="HTML"}}
<div class="head"><h1>Managed registry</h1></div>
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#missing}}
<section class="card">
<p><span class="status status-missing">missing</span> Keystone's own Docker registry is not set up yet. Builds push to it and servers pull from it, so deploying to servers needs it.</p>
</section>
{{/missing}}
{{#registry}}
<section class="card">
<dl class="facts">
  <dt>State</dt><dd><span class="status status-{{state}}">{{state}}</span>{{#state_reason}} <span class="reason">{{state_reason}}</span>{{/state_reason}}</dd>
  <dt>Registry URL</dt><dd><code>https://{{hostname}}</code></dd>
  <dt>Storage path</dt><dd><code>{{storage_path}}</code></dd>
  <dt>Disk usage</dt><dd>{{#disk_usage}}{{disk_usage}}{{/disk_usage}}{{#NO_disk_usage}}<span class="muted">not measured yet</span>{{/NO_disk_usage}}</dd>
  <dt>Credentials</dt><dd>{{credentials}}{{#pull_only}} · the runtime credential is <strong>pull-only</strong> (Caddy allows it GET and HEAD only){{/pull_only}}{{#NO_pull_only}} · the runtime credential is <strong>not read-only</strong>{{/NO_pull_only}}</dd>
  <dt>Last check</dt><dd>{{#checked_at}}{{checked_at}} UTC{{/checked_at}}{{#NO_checked_at}}<span class="muted">never</span>{{/NO_checked_at}}</dd>
</dl>
<div class="actions">
  <form method="post" action="/registry/check" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Run health check</button></form>
  <form method="post" action="/registry/auth" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Configure Docker sign-in on every node</button></form>
</div>
</section>
{{/registry}}

<section class="card">
<h2>Health matrix</h2>
{{#NO_has_rows}}<p class="empty">No check has run yet.</p>{{/NO_has_rows}}
{{#has_rows}}
<div class="scroll"><table class="list matrix">
<thead><tr><th>Node</th>{{#columns}}<th>{{label}}</th>{{/columns}}</tr></thead>
<tbody>
{{#rows}}
<tr><th scope="row">{{label}}</th>{{#cells}}<td>{{#ok}}<span class="status status-succeeded" title="{{at}} UTC">ok</span><br><small title="{{message_full}}">{{message}}</small>{{/ok}}{{#bad}}<span class="status status-failed" title="{{at}} UTC">failed</span><br><small title="{{message_full}}">{{message}}</small><br><small class="muted">{{at}} UTC</small>{{/bad}}{{#skipped}}<span class="status status-skipped">not run</span>{{/skipped}}{{#none}}<span class="muted">—</span>{{/none}}</td>{{/cells}}</tr>
{{/rows}}
</tbody>
</table></div>
{{/has_rows}}
</section>

<section class="card narrow">
<h2>Settings</h2>
<form method="post" action="/registry/settings">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label for="hostname">Registry hostname</label>
  <input id="hostname" name="hostname" required maxlength="260" value="{{hostname_value}}">
  {{#err_hostname}}<p class="field-error">{{msg}}</p>{{/err_hostname}}
  <p class="hint">A DNS name every server resolves to this control node, e.g. registry.example.com (with :port if not 443). Served over HTTPS by Caddy.</p>
  <label for="storage_path">Storage path</label>
  <input id="storage_path" name="storage_path" required maxlength="400" value="{{storage_value}}">
  {{#err_storage_path}}<p class="field-error">{{msg}}</p>{{/err_storage_path}}
  <p class="hint">Where image data lives, e.g. a mounted volume such as /mnt/keystone-registry.</p>
  <div class="actions"><button type="submit">Save settings</button></div>
</form>
<form method="post" action="/registry/provision">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <p>Provisioning writes the registry's configuration and bcrypt-only htpasswd, starts registry:2 on the control node, serves it over HTTPS through Caddy, signs Docker in on every node and then runs the health check. Running it again changes nothing that is already right.</p>
  <div class="actions"><button type="submit">Provision the registry</button></div>
</form>
</section>
