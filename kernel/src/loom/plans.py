"""Plans: the task graph the working partition keeps pinned."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

StepStatus = Literal["pending", "running", "done", "failed", "skipped"]


class PlanStep(BaseModel):
    """One step of a plan; ``depends_on`` lists step ids that must finish first."""

    id: str
    description: str
    status: StepStatus = "pending"
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """An ordered task graph for a goal."""

    goal: str
    steps: list[PlanStep] = Field(default_factory=list)

    def ready(self) -> list[PlanStep]:
        """Pending steps whose dependencies are all done."""
        done = {s.id for s in self.steps if s.status == "done"}
        return [s for s in self.steps if s.status == "pending" and set(s.depends_on) <= done]

    def render(self) -> str:
        """The plan as a checklist for the working partition."""
        marks = {"done": "x", "running": ">", "failed": "!", "skipped": "-", "pending": " "}
        return "\n".join(f"[{marks[s.status]}] {s.id}: {s.description}" for s in self.steps)
