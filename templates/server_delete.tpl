{{%AUTOESCAPE context="HTML"}}
{{#server}}
<section class="card narrow">
<h1>Delete {{name}}?</h1>
<p>Keystone forgets this server. Nothing on the server itself is changed.</p>
<form method="post" action="/servers/{{uuid}}/delete">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <div class="actions"><button type="submit" class="danger">Delete server</button> <a href="/servers/{{uuid}}">Cancel</a></div>
</form>
</section>
{{/server}}
