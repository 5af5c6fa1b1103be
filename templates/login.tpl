{{%AUTOESCAPE context="HTML"}}
<section class="card narrow">
<h1>Sign in</h1>
{{#signed_out}}<p class="flash flash-ok" role="status">You have been signed out.</p>{{/signed_out}}
{{#error}}<p class="flash flash-error" role="alert">{{msg}}</p>{{/error}}
<form method="post" action="/login">
  <input type="hidden" name="csrf" value="{{csrf}}">
  <input type="hidden" name="next" value="{{next}}">
  <label>Username <input name="username" value="{{v_username}}" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
</form>
</section>
