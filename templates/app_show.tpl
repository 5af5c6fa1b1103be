{{%AUTOESCAPE context="HTML"}}
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
