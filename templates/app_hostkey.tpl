{{%AUTOESCAPE context="HTML"}}
{{! The check is an operation, as a server's host key check
    (server_hostkey.tpl): while it runs, the page refreshes. }}
{{#app}}
<p class="crumbs"><a href="/apps/{{uuid}}">{{name}}</a></p>
{{/app}}
<section class="card narrow">
<h1>Git host key of <code>{{git_host}}</code></h1>
{{#app}}
{{#pinned_here}}<p>Pinned now: <code>{{git_host_key_sha256}}</code></p>{{/pinned_here}}
{{#NO_pinned_here}}<p>No key is pinned for this Git host: builds refuse to clone over SSH until one is.</p>{{/NO_pinned_here}}
{{/app}}
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#checking}}
<p id="op-live" data-op="{{op_uuid}}" role="status"><span class="status status-{{checking}}" data-op-status>{{checking}}</span>
  Checking the key the Git host <code>{{git_host}}</code> offers. This page shows it when the <a href="/ops/{{op_uuid}}">check</a> ends.</p>
{{/checking}}
{{#failed}}<p class="flash flash-error" role="alert">The check found no key: {{failed}}</p>{{/failed}}
{{#offered}}
<p>The Git host offers:</p>
<p><code class="wrap">{{offered}}</code></p>
{{#matches}}<p class="flash flash-ok">This is the pinned key.</p>{{/matches}}
{{#differs}}<p class="flash flash-error" role="alert">This is NOT the pinned key. Builds refuse to clone until you confirm the new one; do so only if you know why the key changed.</p>{{/differs}}
{{#NO_matches}}
<p>Compare it with the fingerprint the Git host publishes (its documentation, or <code>ssh-keygen -lf</code> of its host key). Confirm only if they are the same.</p>
{{#app}}
<form method="post" action="/apps/{{uuid}}/hostkey">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="op" value="{{op_uuid}}">
  <input type="hidden" name="fingerprint" value="{{offered}}">
  <div class="actions"><button type="submit">Pin this key</button> <a href="/apps/{{uuid}}">Cancel</a></div>
</form>
{{/app}}
{{/NO_matches}}
{{/offered}}
{{#NO_checking}}
{{#app}}
<form method="post" action="/apps/{{uuid}}/hostkey/check" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">{{#op_uuid}}Check again{{/op_uuid}}{{#NO_op_uuid}}Check the Git host's key{{/NO_op_uuid}}</button>
</form>
{{/app}}
{{/NO_checking}}
</section>
{{#checking}}<script src="/static/ops.js" defer></script>{{/checking}}
