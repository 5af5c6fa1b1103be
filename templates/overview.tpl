{{%AUTOESCAPE context="HTML"}}
<h1>Overview</h1>
{{#counts}}
<div class="stats">
  <a class="stat" href="/servers"><span class="n">{{servers}}</span> servers <small>{{servers_active}} active</small></a>
  <a class="stat" href="/apps"><span class="n">{{applications}}</span> applications</a>
  <div class="stat"><span class="n">{{environments}}</span> environments</div>
  <div class="stat"><span class="n">{{artifacts}}</span> available artifacts</div>
</div>
{{/counts}}
<p class="actions"><a class="button" href="/servers/new">Add a server</a> <a class="button" href="/apps/new">New application</a></p>
