{{%AUTOESCAPE context="HTML"}}
<div class="head"><h1>Servers</h1><a class="button" href="/servers/new">Add server</a></div>
{{#NO_servers}}<p class="empty">No servers yet. Add the first one to deploy to it.</p>{{/NO_servers}}
<table class="list">
<thead><tr>
  <th><a href="/servers?sort=name">Name</a></th>
  <th><a href="/servers?sort=address">Address</a></th>
  <th>Roles</th>
  <th><a href="/servers?sort=status">Status</a></th>
  <th><a href="/servers?sort=-created">Added</a></th>
</tr></thead>
<tbody>
{{#servers}}
<tr>
  <td><a href="/servers/{{uuid}}">{{name}}</a></td>
  <td><code>{{ssh_user}}@{{address}}:{{ssh_port}}</code></td>
  <td>{{#role_build}}<span class="tag">build</span>{{/role_build}}{{#role_runtime}}<span class="tag">runtime</span>{{/role_runtime}}</td>
  <td><span class="status status-{{status}}">{{status}}</span></td>
  <td>{{age}} ago</td>
</tr>
{{/servers}}
</tbody>
</table>
{{#pager}}<nav class="pager">{{#prev}}<a href="{{url}}">← Previous</a>{{/prev}} <span>Page {{page}} of {{pages}} · {{total}} in all</span> {{#next}}<a href="{{url}}">Next →</a>{{/next}}</nav>{{/pager}}
