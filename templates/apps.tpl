{{%AUTOESCAPE context="HTML"}}
<div class="head"><h1>Applications</h1><a class="button" href="/apps/new">New application</a></div>
{{#NO_apps}}<p class="empty">No applications yet.</p>{{/NO_apps}}
<table class="list">
<thead><tr>
  <th><a href="/apps?sort=name">Name</a></th>
  <th>Repository</th>
  <th>Branch</th>
  <th>Environments</th>
  <th><a href="/apps?sort=-created">Created</a></th>
</tr></thead>
<tbody>
{{#apps}}
<tr>
  <td><a href="/apps/{{uuid}}">{{name}}</a></td>
  <td><code>{{repository_url}}</code></td>
  <td><code>{{default_branch}}</code></td>
  <td>{{env_count}}</td>
  <td>{{age}} ago</td>
</tr>
{{/apps}}
</tbody>
</table>
{{#pager}}<nav class="pager">{{#prev}}<a href="{{url}}">← Previous</a>{{/prev}} <span>Page {{page}} of {{pages}} · {{total}} in all</span> {{#next}}<a href="{{url}}">Next →</a>{{/next}}</nav>{{/pager}}
