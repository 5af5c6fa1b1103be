{{%AUTOESCAPE context="HTML"}}
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#app}}
<div class="head"><h1>{{name}}</h1>
  <div class="actions"><a class="button" href="/apps/{{uuid}}/edit">Edit</a> <a class="button danger" href="/apps/{{uuid}}/delete">Delete</a></div>
</div>
<section class="card">
<dl class="facts">
  <dt>Repository</dt><dd><code>{{repository_url}}</code></dd>
  <dt>Default branch</dt><dd><code>{{default_branch}}</code></dd>
  <dt>ID</dt><dd><code>{{uuid}}</code></dd>
</dl>
</section>
<section class="card">
<h2>Repository access</h2>
<form method="post" action="/apps/{{uuid}}/access">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label class="check"><input type="radio" name="repo_auth" value="none"{{#auth_none}} checked{{/auth_none}}> None: a public repository</label>
  <label class="check"><input type="radio" name="repo_auth" value="deploy_key"{{#auth_key}} checked{{/auth_key}}> Deploy key (SSH)</label>
  <label class="check"><input type="radio" name="repo_auth" value="token"{{#auth_token}} checked{{/auth_token}}> HTTPS token</label>
  <div class="actions"><button type="submit">Use this access</button></div>
</form>
<h3>Deploy key</h3>
{{#deploy_key_public}}<p>Add this public key to the Git host as a read-only deploy key:</p>
<p><code class="wrap" id="deploy-key">{{deploy_key_public}}</code></p>
<form method="post" action="/apps/{{uuid}}/deploy_key" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <label class="check"><input type="checkbox" name="confirm" value="1"> Replace it (the Git host must be given the new key)</label>
  <button type="submit">Regenerate deploy key</button>
</form>{{/deploy_key_public}}
{{#NO_deploy_key_public}}<form method="post" action="/apps/{{uuid}}/deploy_key" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">Generate deploy key</button>
</form>{{/NO_deploy_key_public}}
<p>Git host key: {{#git_host_key_sha256}}<code>{{git_host}}</code> pinned at <code>{{git_host_key_sha256}}</code> ({{git_host_pinned}}){{/git_host_key_sha256}}{{#NO_git_host_key_sha256}}not pinned{{/NO_git_host_key_sha256}}</p>
{{#ssh_git_host}}<form method="post" action="/apps/{{uuid}}/hostkey/check" class="inline-form">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <button type="submit">Check the Git host's key</button> <span class="muted">(<code>{{ssh_git_host}}</code>)</span>
</form>{{/ssh_git_host}}
<h3>HTTPS token</h3>
<form method="post" action="/apps/{{uuid}}/token">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="row">
    <label>Username <input name="https_username" value="{{https_username}}" autocomplete="off"></label>
    <label>Token <input type="password" name="https_token" value="" autocomplete="new-password"{{#token_set}} placeholder="set"{{/token_set}}></label>
  </div>
  <p>Token: {{#token_set}}set{{/token_set}}{{#NO_token_set}}not set{{/NO_token_set}}</p>
  <div class="actions"><button type="submit">Save token</button>{{#token_set}} <button type="submit" name="remove" value="1" class="danger">Remove token</button>{{/token_set}}</div>
</form>
</section>
<div class="head"><h2>Environments</h2><a class="button" href="/apps/{{uuid}}/envs/new">New environment</a></div>
{{/app}}
{{#NO_environments}}<p class="empty">No environments yet.</p>{{/NO_environments}}
<table class="list">
<thead><tr><th>Name</th><th>Branch</th><th>Build on</th><th>Servers</th><th>Artifacts</th><th>Keep</th></tr></thead>
<tbody>
{{#environments}}
<tr>
  <td><a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{name}}</a></td>
  <td><code>{{branch}}</code></td>
  <td>{{build_location}}</td>
  <td>{{server_count}}</td>
  <td><a href="/apps/{{app_uuid}}/envs/{{uuid}}/artifacts">{{artifact_count}}</a></td>
  <td>{{retention_count}}</td>
</tr>
{{/environments}}
</tbody>
</table>
