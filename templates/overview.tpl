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
{{#any_degraded}}<section class="card" id="degraded">
<h2>Degraded environments</h2>
<ul class="plain">{{#degraded}}<li><a href="/apps/{{app_uuid}}/envs/{{uuid}}">{{app_name}} / {{name}}</a>: <span class="status status-failed">failed</span> on {{failed_servers}}</li>{{/degraded}}</ul>
</section>{{/any_degraded}}
{{#build_node}}
<section class="card" id="build-node">
<h2>{{#control}}Control node{{/control}}{{#NO_control}}Build node{{/NO_control}}</h2>
<dl class="facts">
  <dt>Free disk</dt><dd>{{#known}}{{disk_free_mb}} MB{{#pressure}} <span class="status status-failed">disk pressure</span> below the build threshold of {{min_free_mb}} MB (build_min_free_mb){{/pressure}}{{/known}}{{#NO_known}}<span class="muted">not seen by a build yet</span>{{/NO_known}}</dd>
  <dt>Docker engine</dt><dd>{{#known}}{{#engine_ok}}reachable{{/engine_ok}}{{#NO_engine_ok}}<span class="status status-failed">not reachable</span>{{/NO_engine_ok}}{{/known}}{{#NO_known}}<span class="muted">unknown</span>{{/NO_known}}</dd>
  {{#known}}<dt>Last seen</dt><dd>{{message}}, {{checked_at}} ({{checked_age}} ago)</dd>{{/known}}
  <dt>Queue</dt><dd>{{queue_length}} queued, {{running}} running</dd>
  <dt>Last build</dt><dd>{{#last_build_uuid}}<a href="/ops/{{last_build_uuid}}"><span class="status status-{{last_build_status}}">{{last_build_status}}</span></a> {{last_build_age}} ago{{/last_build_uuid}}{{#NO_last_build_uuid}}<span class="muted">none yet</span>{{/NO_last_build_uuid}}</dd>
</dl>
</section>
{{/build_node}}
<p class="actions"><a class="button" href="/servers/new">Add a server</a> <a class="button" href="/apps/new">New application</a></p>
