{{%AUTOESCAPE context="HTML"}}
{{#server}}
<p class="crumbs"><a href="/servers/{{uuid}}">{{name}}</a></p>
<section class="card narrow">
<h1>Host key of {{name}}</h1>
{{#host_key_sha256}}<p>Pinned now: <code>{{host_key_sha256}}</code></p>{{/host_key_sha256}}
{{/server}}
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
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
  <input type="hidden" name="fingerprint" value="{{offered}}">
  <div class="actions"><button type="submit">Pin this key</button> <a href="/servers/{{uuid}}">Cancel</a></div>
</form>
{{/server}}
{{/NO_matches}}
{{/offered}}
</section>
