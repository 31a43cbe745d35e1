"""Give a tenant's staff the Django admin, bound to that tenant only (docs/admin.md).

    manage.py tenant_admin TENANT add USERNAME [--email E] [--password-stdin]
    manage.py tenant_admin TENANT remove USERNAME
    manage.py tenant_admin TENANT list

`add` creates the user (staff, in the `tenant-staff` group) or binds an existing one; without
`--password-stdin` a new user has no usable password until one is set. `remove` unbinds the user,
takes them out of the group and ends their staff access. Platform operators are never bound.
"""

from __future__ import annotations

import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from identity.infrastructure.admin_staff import ensure_admin_groups, is_platform_operator
from identity.infrastructure.models import Tenant, TenantStaffMember


class Command(BaseCommand):
    help = "add USERNAME [--email E] [--password-stdin] | remove USERNAME | list: a tenant's admin staff."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("action", choices=["add", "remove", "list"])
        parser.add_argument("username", nargs="?")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the user's password from the first line of standard input",
        )

    def handle(
        self, *args, tenant: str, action: str, username: str | None, email: str, password_stdin: bool, **options
    ) -> None:
        if not Tenant.objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        if action == "list":
            self._list(tenant)
            return
        if not username:
            raise CommandError(f"{action} needs a username")
        with transaction.atomic():
            if action == "add":
                password = self._read_password() if password_stdin else None
                self._add(tenant, username, email, password)
            else:
                self._remove(tenant, username)

    def _read_password(self) -> str:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("--password-stdin: standard input had no password")
        return password

    def _add(self, tenant: str, username: str, email: str, password: str | None) -> None:
        users = get_user_model()
        staff_group, _ = ensure_admin_groups()
        user = users.objects.filter(username=username).first()
        created = user is None
        if created:
            user = users(username=username, email=email)
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as error:
                raise CommandError(f"invalid user: {'; '.join(error.messages)}") from None
        elif is_platform_operator(user):
            raise CommandError(f"{username} is a platform operator: a tenant binding would not limit them")
        binding = TenantStaffMember.objects.filter(user_id=user.pk).first() if not created else None
        if binding is not None and binding.tenant_id != tenant:
            raise CommandError(f"{username} is bound to tenant {binding.tenant_id!r}; remove that binding first")
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError(f"password refused: {' '.join(error.messages)}") from None
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.is_staff = True
        if email:
            user.email = email
        user.save()
        user.groups.add(staff_group)
        TenantStaffMember.objects.get_or_create(user=user, defaults={"tenant_id": tenant})
        verb = "Created" if created else "Bound"
        login = "" if password is not None or user.has_usable_password() else " (no password yet: set one to log in)"
        self.stdout.write(f"{verb} {username} as staff of tenant {tenant}{login}.")

    def _remove(self, tenant: str, username: str) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"unknown user {username!r}")
        deleted, _ = TenantStaffMember.objects.filter(user=user, tenant_id=tenant).delete()
        if not deleted:
            raise CommandError(f"{username} is not staff of tenant {tenant}")
        staff_group, _ = ensure_admin_groups()
        user.groups.remove(staff_group)
        user.is_staff = False
        user.save(update_fields=["is_staff"])
        self.stdout.write(f"Removed {username} from tenant {tenant}; their admin access has ended.")

    def _list(self, tenant: str) -> None:
        bindings = TenantStaffMember.objects.filter(tenant_id=tenant).select_related("user").order_by("user__username")
        for binding in bindings:
            user = binding.user
            state = "active" if user.is_active and user.is_staff else "inactive"
            last = user.last_login.isoformat() if user.last_login else "never"
            self.stdout.write(f"{user.username}  {user.email or '-'}  {state}  last login {last}")
        if not bindings:
            self.stdout.write(f"No admin staff for tenant {tenant}.")
