{{%AUTOESCAPE context="HTML"}}
<section class="card">
<p class="crumbs">{{#app}}<a href="/apps/{{uuid}}">{{name}}</a>{{/app}} / {{#env}}<a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{name}}</a>{{/env}}</p>
<h1>{{title}}</h1>
{{#has_errors}}<p class="flash flash-error" role="alert">Please correct the fields marked below.</p>{{/has_errors}}
<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/services{{#editing}}/{{svc_uuid}}{{/editing}}" id="service-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label>Name <input name="name" value="{{v_name}}" required maxlength="63" pattern="[a-z0-9][a-z0-9_\-]{0,62}" placeholder="web" spellcheck="false"></label>
  {{#err_name}}<p class="field-error">Name {{msg}}.</p>{{/err_name}}
  <label>Command <input name="command" value="{{v_command}}" placeholder="the image's own" spellcheck="false"></label>
  {{#err_command}}<p class="field-error">Command {{msg}}.</p>{{/err_command}}
  <div class="row">
    <label>Port <input name="port" value="{{v_port}}" inputmode="numeric" required></label>
    <label>Bind address <input name="bind_address" value="{{v_bind_address}}" placeholder="the server's own address" spellcheck="false"></label>
  </div>
  <p class="hint">The service listens on the server's network at this address and port, told to it as <code>HOST</code> and <code>PORT</code>.</p>
  {{#err_port}}<p class="field-error">Port {{msg}}.</p>{{/err_port}}
  {{#err_bind_address}}<p class="field-error">Bind address {{msg}}.</p>{{/err_bind_address}}
  <fieldset><legend>Health check</legend>
    <div class="row">
      <label>Kind <select name="health_kind">{{#health_kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/health_kinds}}</select></label>
      <label>HTTP path <input name="health_path" value="{{v_health_path}}" placeholder="/" spellcheck="false"></label>
    </div>
    <label>Command (run inside the container) <input name="health_command" value="{{v_health_command}}" spellcheck="false"></label>
    <div class="row">
      <label>Interval (seconds) <input name="health_interval_s" value="{{v_health_interval_s}}" inputmode="numeric"></label>
      <label>Timeout (seconds) <input name="health_timeout_s" value="{{v_health_timeout_s}}" inputmode="numeric"></label>
    </div>
  </fieldset>
  {{#err_health_kind}}<p class="field-error">Health check kind {{msg}}.</p>{{/err_health_kind}}
  {{#err_health_path}}<p class="field-error">HTTP path {{msg}}.</p>{{/err_health_path}}
  {{#err_health_command}}<p class="field-error">Health command {{msg}}.</p>{{/err_health_command}}
  {{#err_health_interval_s}}<p class="field-error">Interval {{msg}}.</p>{{/err_health_interval_s}}
  {{#err_health_timeout_s}}<p class="field-error">Timeout {{msg}}.</p>{{/err_health_timeout_s}}
  <label>Restart policy <select name="restart_policy">{{#restart_policies}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/restart_policies}}</select></label>
  {{#err_restart_policy}}<p class="field-error">Restart policy {{msg}}.</p>{{/err_restart_policy}}
  <label>Variables <textarea name="vars" rows="5" placeholder="NAME=value, one per line (not secret)" spellcheck="false">{{v_vars:pre_escape}}</textarea></label>
  {{#err_vars}}<p class="field-error">Variables: {{msg}}.</p>{{/err_vars}}
  <fieldset><legend>Secret variable</legend>
    <div class="row">
      <label>Name <input name="secret_name" value="{{v_secret_name}}" placeholder="API_TOKEN" spellcheck="false" autocomplete="off"></label>
      <label>Value <input type="password" name="secret_value" value="" autocomplete="new-password"></label>
    </div>
    <p class="hint">Stored sealed and never shown again; setting a name that is set replaces its value.</p>
  </fieldset>
  {{#err_secret_name}}<p class="field-error">Secret variable name {{msg}}.</p>{{/err_secret_name}}
  {{#err_secret_value}}<p class="field-error">Secret variable value {{msg}}.</p>{{/err_secret_value}}
  <label>Volumes <textarea name="volumes" rows="3" placeholder="name:/mount/path, one per line (kept across deploys)" spellcheck="false">{{v_volumes:pre_escape}}</textarea></label>
  {{#err_volumes}}<p class="field-error">Volumes: {{msg}}.</p>{{/err_volumes}}
  <div class="actions"><button type="submit">{{#editing}}Save{{/editing}}{{#NO_editing}}Create{{/NO_editing}}</button></div>
</form>
</section>
{{#editing}}
<section class="card" id="secrets">
<h2>Secret variables</h2>
{{#NO_secrets}}<p class="empty">No secret variables.</p>{{/NO_secrets}}
<table class="list">
<tbody>
{{#secrets}}
<tr><td><code>{{name}}</code></td><td>set</td><td><form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/services/{{svc_uuid}}/secrets/remove"><input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}"><button type="submit" class="danger">Remove</button></form></td></tr>
{{/secrets}}
</tbody>
</table>
</section>
<section class="card">
<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/services/{{svc_uuid}}/delete">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit" class="danger">Delete this service</button>
</form>
</section>
{{/editing}}
