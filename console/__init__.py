"""The people's side on the web: sign-in, roles, the agent desk's queue, call review.

How it fits together (pages build on the same pieces as the JSON API):

* ``console.web.install_console(app, settings)`` adds the routes and puts a
  :class:`~console.web.Console` on ``app.state.console``; the app's lifespan starts it with
  the call resources (their call store and ``handoff_listeners``) and stops it.
* ``console.store.ConsoleStore``: users, handoffs, wrap-ups, in the call store's database.
* ``console.auth``: ``require_role(...)`` and the aliases ``AnyUser``, ``Reviewer``,
  ``DeskUser``, ``Admin`` that every route takes. An anonymous request gets 401 under
  ``/api/`` and a redirect to ``/signin?next=...`` anywhere else. Unsafe methods need the
  session's CSRF token (``X-CSRF-Token`` header or ``csrf_token`` form field;
  ``CurrentUser.csrf_token`` for a server-rendered form).
* ``console.views``: the response models and the functions that build them, redacting
  everything shown.
* ``console.live``: handoffs from calls into the queue, and changes out to the SSE stream.
"""
