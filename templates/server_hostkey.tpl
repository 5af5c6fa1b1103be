{{%AUTOESCAPE context="HTML"}}
{{! The check is an operation: while it runs, the page refreshes (a meta
    refresh without JavaScript; with it, static/ops.js reloads the page
    when the operation ends). }}
{{#server}}
<p class="crumbs"><a href="/servers/{{uuid}}">{{name}}</a></p>
{{/server}}
<section class="card narrow">
{{#server}}
<h1>Host key of {{name}}</h1>
{{#host_key_sha256}}<p>Pinned now: <code>{{host_key_sha256}}</code></p>{{/host_key_sha256}}
{{#NO_host_key_sha256}}<p>No key is pinned: Keystone refuses to connect to this server until one is.</p>{{/NO_host_key_sha256}}
{{/server}}
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#checking}}
<p id="op-live" data-op="{{op_uuid}}" role="status"><span class="status status-{{checking}}" data-op-status>{{checking}}</span>
  Checking the key the server offers{{#server}} at <code>{{address}}:{{ssh_port}}</code>{{/server}}. This page shows it when the <a href="/ops/{{op_uuid}}">check</a> ends.</p>
{{/checking}}
{{#failed}}<p class="flash flash-error" role="alert">The check found no key: {{failed}}</p>{{/failed}}
{{#offered}}
<p>The server at this address offers:</p>
<p><code class="wrap">{{offered}}</code></p>
{{#matches}}<p class="flash flash-ok">This is the pinned key.</p>{{/matches}}
{{#differs}}<p class="flash flash-error" role="alert">This is NOT the pinned key. Keystone refuses to connect until you confirm the new one; do so only if you know why the key changed.</p>{{/differs}}
{{#NO_matches}}
<p>Compare it with the server's own fingerprint, e.g. <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> on the server. Confirm only if they are the same.</p>
{{#server}}
<form method="post" action="/servers/{{uuid}}/hostkey">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="op" value="{{op_uuid}}">
  <input type="hidden" name="fingerprint" value="{{offered}}">
  <div class="actions"><button type="submit">Pin this key</button> <a href="/servers/{{uuid}}">Cancel</a></div>
</form>
{{/server}}
{{/NO_matches}}
{{/offered}}
{{#NO_checking}}
{{#server}}
<form method="post" action="/servers/{{uuid}}/hostkey/check" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">{{#op_uuid}}Check again{{/op_uuid}}{{#NO_op_uuid}}Check the key it offers{{/NO_op_uuid}}</button>
</form>
{{/server}}
{{/NO_checking}}
</section>
{{#checking}}<script src="/static/ops.js" defer></script>{{/checking}}
