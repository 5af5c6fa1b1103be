{{%AUTOESCAPE context="HTML"}}
{{#server}}
<div class="head"><h1>{{name}}</h1>
  <div class="actions"><a class="button" href="/servers/{{uuid}}/edit">Edit</a> <a class="button danger" href="/servers/{{uuid}}/delete">Delete</a></div>
</div>
<section class="card">
<dl class="facts">
  <dt>Status</dt><dd><span class="status status-{{status}}">{{status}}</span></dd>
  <dt>SSH</dt><dd><code>{{ssh_user}}@{{address}}:{{ssh_port}}</code></dd>
  <dt>Roles</dt><dd>{{#role_build}}<span class="tag">build</span>{{/role_build}}{{#role_runtime}}<span class="tag">runtime</span>{{/role_runtime}}{{#NO_role_build}}{{#NO_role_runtime}}none{{/NO_role_runtime}}{{/NO_role_build}}</dd>
  <dt>Host key</dt><dd>{{#host_key_sha256}}<code>{{host_key_sha256}}</code>{{/host_key_sha256}}{{#NO_host_key_sha256}}Not pinned yet. Keystone refuses to connect until the host key is pinned.{{/NO_host_key_sha256}}
    <form method="post" action="/servers/{{uuid}}/hostkey/check" class="inline">
      <input type="hidden" name="csrf" value="{{csrf}}">
      <button type="submit" class="link">Check{{#NO_host_key_sha256}} and pin{{/NO_host_key_sha256}}</button>
    </form></dd>
  <dt>Added</dt><dd>{{created}} ({{age}} ago)</dd>
</dl>
<form method="post" action="/servers/{{uuid}}/provision" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">{{#NO_host_key_sha256}}Connect with a one-time command{{/NO_host_key_sha256}}{{#host_key_sha256}}Issue a new provisioning command{{/host_key_sha256}}</button>
</form>
</section>
{{/server}}
{{#build_node}}
<section class="card" id="build-node">
<h2>{{#control}}Control node{{/control}}{{#NO_control}}Build node{{/NO_control}}</h2>
<dl class="facts">
  <dt>Free disk</dt><dd>{{#known}}{{disk_free_mb}} MB{{#pressure}} <span class="status status-failed">disk pressure</span> below the build threshold of {{min_free_mb}} MB (build_min_free_mb){{/pressure}}{{/known}}{{#NO_known}}<span class="muted">not seen by a build yet</span>{{/NO_known}}</dd>
  <dt>Docker engine</dt><dd>{{#known}}{{#engine_ok}}reachable{{/engine_ok}}{{#NO_engine_ok}}<span class="status status-failed">not reachable</span>{{/NO_engine_ok}}{{/known}}{{#NO_known}}<span class="muted">unknown</span>{{/NO_known}}</dd>
  {{#known}}<dt>Last seen</dt><dd>{{message}}, {{checked_at}} ({{checked_age}} ago)</dd>{{/known}}
  <dt>Queue</dt><dd>{{queue_length}} queued, {{running}} running</dd>
  <dt>Last build</dt><dd>{{#last_build_uuid}}<a href="/ops/{{last_build_uuid}}"><span class="status status-{{last_build_status}}">{{last_build_status}}</span></a> {{last_build_age}} ago{{/last_build_uuid}}{{#NO_last_build_uuid}}<span class="muted">none yet</span>{{/NO_last_build_uuid}}</dd>
</dl>
</section>
{{/build_node}}
<h2>Environments using this server</h2>
{{#NO_environments}}<p class="empty">None.</p>{{/NO_environments}}
<ul class="plain">
{{#environments}}<li><a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{app_name}} / {{name}}</a></li>{{/environments}}
</ul>
