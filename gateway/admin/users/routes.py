"""`/admin/users`: people's accounts, limited by scope. A province administrator sees and manages
only accounts whose every scope unit lies inside the province, and grants only what it holds itself.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from gateway.admin.access import Manager
from gateway.admin.schemas import AdminPaging
from gateway.admin.users import repository, service
from gateway.admin.users.schemas import UserCreate, UserOut, UserUpdate
from gateway.dependencies import DatabaseDep, DirectoryDep, IdentitiesDep, PasswordsDep, SettingsDep
from shared.pagination import Page, paginate

router = APIRouter(prefix="/admin/users", tags=["admin: users"])


@router.get("", response_model=Page[UserOut], summary="Accounts inside your scope")
async def list_users(
    principal: Manager, db: DatabaseDep, paging: AdminPaging,
    role: str | None = None, active: bool | None = None,
    q: Annotated[str | None, Query(description="Part of the username or display name")] = None,
) -> Page[UserOut]:
    async with db.session(principal) as session:
        return await paginate(session, repository.managed_users(principal, role, active, q), paging, UserOut.of)


@router.post("", response_model=UserOut, status_code=201, summary="Create an account inside your scope")
async def create_user(principal: Manager, body: UserCreate, db: DatabaseDep, passwords: PasswordsDep,
                      directory: DirectoryDep, settings: SettingsDep) -> UserOut:
    return UserOut.of(await service.create_user(db, passwords, directory, settings.password_min_length,
                                                principal, body))


@router.get("/{user_id}", response_model=UserOut, summary="One account")
async def get_user(principal: Manager, user_id: uuid.UUID, db: DatabaseDep) -> UserOut:
    return UserOut.of(await service.get_user(db, principal, user_id))


@router.patch("/{user_id}", response_model=UserOut,
              summary="Change an account (role, scopes, status or password end its sessions)")
async def update_user(principal: Manager, user_id: uuid.UUID, body: UserUpdate, db: DatabaseDep,
                      passwords: PasswordsDep, identities: IdentitiesDep, directory: DirectoryDep,
                      settings: SettingsDep) -> UserOut:
    return UserOut.of(await service.update_user(db, passwords, identities, directory, settings.password_min_length,
                                                principal, user_id, body))


@router.post("/{user_id}/unlock", response_model=UserOut, summary="Lift a failed-login lockout")
async def unlock_user(principal: Manager, user_id: uuid.UUID, db: DatabaseDep) -> UserOut:
    return UserOut.of(await service.unlock_user(db, principal, user_id))


@router.post("/{user_id}/logout", status_code=204, summary="End every session of the account now")
async def logout_user(principal: Manager, user_id: uuid.UUID, db: DatabaseDep, identities: IdentitiesDep) -> None:
    await service.logout_user(db, identities, principal, user_id)
