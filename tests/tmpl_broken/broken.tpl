{{%AUTOESCAPE context="HTML"}}
{{#open}}never closed
