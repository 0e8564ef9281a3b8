"""Access control: users and roles (``users``), sign-in and hardening (``auth``), the role
guard for callbacks and routes (``guard``), the append-only audit log (``audit``), and the
SQLite app store they share (``store``). The disclosure policy itself is pure and lives in
``queries.disclosure``.
"""
