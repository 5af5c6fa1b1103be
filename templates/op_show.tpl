{{%AUTOESCAPE context="HTML"}}
{{! Step output goes through :pre_escape, the HTML escaping that keeps
    newlines and tabs (plain HTML escaping turns them into spaces). }}
{{#op}}
<p class="crumbs"><a href="/ops">Operations</a></p>
<div class="head"><h1>{{kind_label}}{{#subject_name}} · {{subject_name}}{{/subject_name}}</h1>
  <div class="actions">
  {{#active}}{{#NO_cancel_requested}}<form method="post" action="/ops/{{uuid}}/cancel">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="button danger">Cancel operation</button>
  </form>{{/NO_cancel_requested}}{{/active}}
  {{#retryable}}<form method="post" action="/ops/{{uuid}}/retry">
    <input type="hidden" name="csrf" value="{{csrf}}">
    <button type="submit" class="button">Retry</button>
  </form>{{/retryable}}
  </div>
</div>
<section class="card">
<dl class="facts">
  <dt>Status</dt><dd><span class="status status-{{status}}" data-op-status>{{status}}</span>{{#active}}{{#cancel_requested}} <span class="tag">cancel requested</span>{{/cancel_requested}}{{/active}}{{#superseded_by_uuid}} by <a href="/ops/{{superseded_by_uuid}}" id="superseded-by">a newer build</a>{{/superseded_by_uuid}}</dd>
  {{#error}}<dt>Error</dt><dd class="error-text">{{error}}</dd>{{/error}}
  <dt>Subject</dt><dd>{{#env_uuid}}<a href="/apps/{{app_uuid}}/envs/{{env_uuid}}">{{app_name}} / {{subject_name}}</a>{{/env_uuid}}{{#server_uuid}}<a href="/servers/{{server_uuid}}">{{subject_name}}</a>{{/server_uuid}}{{#subject_app_uuid}}<a href="/apps/{{subject_app_uuid}}">{{subject_name}}</a>{{/subject_app_uuid}}{{#NO_subject_name}}<span class="muted">{{subject_type}}</span>{{/NO_subject_name}}</dd>
  {{#commit_sha}}<dt>Commit</dt><dd><code>{{commit_sha}}</code>{{#rebuild}} <span class="tag">rebuild</span>{{/rebuild}}</dd>{{/commit_sha}}
  {{#artifact_uuid}}<dt>Artifact</dt><dd id="artifact">{{#artifact_made}}Made{{/artifact_made}}{{#NO_artifact_made}}Built already, reused{{/NO_artifact_made}}: <code class="wrap">{{artifact_tag}}</code> <code class="wrap">{{artifact_digest}}</code> <span class="status status-{{artifact_status}}">{{artifact_status}}</span>{{#env_uuid}} (<a href="/apps/{{app_uuid}}/envs/{{env_uuid}}/artifacts">artifacts</a>){{/env_uuid}}</dd>{{/artifact_uuid}}
  <dt>Started by</dt><dd>{{#created_by}}{{created_by}}{{/created_by}}{{#NO_created_by}}<span class="muted">Keystone</span>{{/NO_created_by}}</dd>
  {{#depends_on_uuid}}<dt>Runs after</dt><dd><a href="/ops/{{depends_on_uuid}}"><code>{{depends_on_uuid}}</code></a></dd>{{/depends_on_uuid}}
  <dt>Attempt</dt><dd>{{attempt}} of {{max_attempts}}</dd>
  <dt>Created</dt><dd>{{created}} ({{age}} ago)</dd>
  <dt>Took</dt><dd>{{#took}}{{took}}{{#active}} so far{{/active}}{{/took}}{{#NO_took}}<span class="muted">not started</span>{{/NO_took}}</dd>
  <dt>ID</dt><dd><code>{{uuid}}</code></dd>
</dl>
</section>
{{#active}}<div id="op-live" data-op="{{uuid}}" data-step="{{log_step}}" data-from="{{log_from}}" hidden></div>{{/active}}
{{/op}}
<h2>Steps</h2>
{{#NO_steps}}<p class="empty">This operation has no steps.</p>{{/NO_steps}}
<table class="list steps">
<thead><tr><th>#</th><th>Step</th><th>Runs on</th><th>Status</th><th>Exit</th><th>Took</th><th>Output</th></tr></thead>
<tbody>
{{#steps}}
<tr>
  <td>{{ordinal}}</td>
  <td><a href="#step-{{id}}">{{name}}</a></td>
  <td>{{target_label}}{{#server_name}} · {{server_name}}{{/server_name}}</td>
  <td><span class="status status-{{status}}" data-step-status="{{id}}">{{status}}</span></td>
  <td data-step-exit="{{id}}">{{#exit}}<code>{{exit}}</code>{{/exit}}{{#NO_exit}}<span class="muted">—</span>{{/NO_exit}}</td>
  <td>{{#took}}{{took}}{{/took}}{{#NO_took}}<span class="muted">—</span>{{/NO_took}}</td>
  <td>{{#size}}{{size}}{{/size}}{{#NO_size}}<span class="muted">—</span>{{/NO_size}}{{#truncated}} <span class="tag">truncated</span>{{/truncated}}</td>
</tr>
{{/steps}}
</tbody>
</table>
{{#has_steps}}<h2>Output</h2>{{/has_steps}}
{{#steps}}
<section class="step-log" id="step-{{id}}">
<h3><span class="ordinal">{{ordinal}}</span> {{name}} <span class="status status-{{status}}" data-step-status="{{id}}">{{status}}</span></h3>
{{#error}}<p class="error-text">{{error}}</p>{{/error}}
<pre class="log" id="log-{{id}}">{{output:pre_escape}}</pre>
{{#truncated}}<p class="note">The output was longer than Keystone keeps; only its start was stored.</p>{{/truncated}}
</section>
{{/steps}}
{{#op}}{{#active}}<script src="/static/ops.js" defer></script>{{/active}}{{/op}}
