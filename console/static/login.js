// Shows why the last login failed (the server redirects to /login?error=failed).
'use strict';
if (new URLSearchParams(location.search).get('error')) {
  document.getElementById('error').hidden = false;
}
