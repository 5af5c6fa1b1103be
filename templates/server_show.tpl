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
<h2>Environments using this server</h2>
{{#NO_environments}}<p class="empty">None.</p>{{/NO_environments}}
<ul class="plain">
{{#environments}}<li><a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{app_name}} / {{name}}</a></li>{{/environments}}
</ul>
