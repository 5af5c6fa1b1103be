{{%AUTOESCAPE context="HTML"}}
<div class="head"><h1>Operations</h1></div>
{{#NO_ops}}<p class="empty">No operations yet. Builds, deploys and other long-running work show up here.</p>{{/NO_ops}}
<table class="list">
<thead><tr><th>Operation</th><th>Subject</th><th>Status</th><th>Attempt</th><th>Created</th><th>Took</th></tr></thead>
<tbody>
{{#ops}}
<tr>
  <td><a href="/ops/{{uuid}}">{{kind_label}}</a></td>
  <td>{{#subject_name}}{{subject_name}}{{/subject_name}}{{#NO_subject_name}}<span class="muted">{{subject_type}}</span>{{/NO_subject_name}}</td>
  <td><span class="status status-{{status}}">{{status}}</span>{{#superseded_by_uuid}} by <a href="/ops/{{superseded_by_uuid}}">a newer build</a>{{/superseded_by_uuid}}</td>
  <td>{{attempt}}</td>
  <td>{{age}} ago</td>
  <td>{{#took}}{{took}}{{/took}}{{#NO_took}}<span class="muted">—</span>{{/NO_took}}</td>
</tr>
{{/ops}}
</tbody>
</table>
{{#pager}}<nav class="pager">{{#prev}}<a href="{{url}}">← Previous</a>{{/prev}} <span>Page {{page}} of {{pages}} · {{total}} in all</span> {{#next}}<a href="{{url}}">Next →</a>{{/next}}</nav>{{/pager}}
