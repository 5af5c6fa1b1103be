{{%AUTOESCAPE context="HTML"}}
<p class="crumbs">{{#app}}<a href="/apps/{{uuid}}">{{name}}</a>{{/app}} / {{#env}}<a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{name}}</a>{{/env}}</p>
<h1>Artifacts</h1>
{{#error}}<p class="flash flash-error" role="alert">{{error}}</p>{{/error}}
{{#NO_artifacts}}<p class="empty">No builds yet.</p>{{/NO_artifacts}}
<table class="list">
<thead><tr><th>Tag</th><th>Commit</th><th>Digest</th><th>Registry</th><th>Architecture</th><th>Size</th><th>Build</th><th>Status</th><th>Age</th><th></th></tr></thead>
<tbody>
{{#artifacts}}
<tr>
  <td><code class="wrap">{{tag}}</code></td>
  <td><code title="{{commit_sha}}">{{short_sha}}</code></td>
  <td><code class="wrap">{{manifest_digest}}</code></td>
  <td><code>{{registry_host}}</code></td>
  <td>{{#architecture}}{{architecture}}{{/architecture}}{{#NO_architecture}}<span class="muted">—</span>{{/NO_architecture}}</td>
  <td>{{#size}}{{size}}{{/size}}{{#NO_size}}<span class="muted">—</span>{{/NO_size}}</td>
  <td>{{#op_uuid}}<a href="/ops/{{op_uuid}}">{{#build}}{{build}}{{/build}}{{#NO_build}}build{{/NO_build}}</a>{{/op_uuid}}{{#NO_op_uuid}}{{#build}}{{build}}{{/build}}{{#NO_build}}<span class="muted">—</span>{{/NO_build}}{{/NO_op_uuid}}</td>
  <td><span class="status status-{{status}}">{{status}}</span></td>
  <td>{{age}}</td>
  <td>{{#deployable}}<form method="post" action="/apps/{{app_uuid}}/envs/{{env_uuid}}/artifacts/{{uuid}}/deploy"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Deploy this version</button></form>{{/deployable}}</td>
</tr>
{{/artifacts}}
</tbody>
</table>
{{#pager}}<nav class="pager">{{#prev}}<a href="{{url}}">← Previous</a>{{/prev}} <span>Page {{page}} of {{pages}} · {{total}} in all</span> {{#next}}<a href="{{url}}">Next →</a>{{/next}}</nav>{{/pager}}
