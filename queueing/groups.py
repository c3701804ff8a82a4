"""Every channel-layer group name is built here, and nowhere else."""


def center_floor(center_id: int) -> str:
    return f"center.{center_id}.floor"


def desk(desk_id: int) -> str:
    return f"desk.{desk_id}"


def ticket(ticket_id: int) -> str:
    return f"ticket.{ticket_id}"
