"""All ORM models, importable from one place (Alembic and tests import this)."""

from chaintrack.models.assessment import (
    AnnualTask,
    AssessmentScheme,
    AssessmentTarget,
    Indicator,
    IndicatorFigure,
    ScoreAdjustment,
    TaskNote,
)
from chaintrack.models.assessment_history import TargetRevision, TaskRevision
from chaintrack.models.attraction import (
    AttractionFunds,
    AttractionLead,
    AttractionLeadNode,
    AttractionStep,
)
from chaintrack.models.audit import AuditRecord
from chaintrack.models.base import Base
from chaintrack.models.chain import Chain, ChainGroup, ChainLeader
from chaintrack.models.dispatch import (
    DispatchRound,
    DispatchRoundChain,
    Notification,
    ReporterScope,
    ReportReview,
    ReviewEvent,
)
from chaintrack.models.enterprise import Designation, Enterprise, EnterpriseFigures
from chaintrack.models.lists import ChainList, ListEntry, ListType
from chaintrack.models.map import MapNode, MapRelation, MapVersion
from chaintrack.models.membership import Membership
from chaintrack.models.problems import ProblemCategory, ProblemStep, SupervisionNotice
from chaintrack.models.progress import Problem, ProgressReport
from chaintrack.models.project import (
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
)
from chaintrack.models.reference import ProjectTypeDefinition, Region, TierDefinition
from chaintrack.models.user import EditorAssignment, LoginThrottleEntry, User

__all__ = [
    "AnnualTask",
    "AssessmentScheme",
    "AssessmentTarget",
    "AttractionFunds",
    "AttractionLead",
    "AttractionLeadNode",
    "AttractionStep",
    "AuditRecord",
    "Base",
    "Chain",
    "ChainGroup",
    "ChainLeader",
    "ChainList",
    "Designation",
    "DispatchRound",
    "DispatchRoundChain",
    "EditorAssignment",
    "Enterprise",
    "EnterpriseFigures",
    "Indicator",
    "IndicatorFigure",
    "ListEntry",
    "ListType",
    "LoginThrottleEntry",
    "MapNode",
    "MapRelation",
    "MapVersion",
    "Membership",
    "Notification",
    "Problem",
    "ProblemCategory",
    "ProblemStep",
    "ProgressReport",
    "Project",
    "ProjectAnnualPlan",
    "ProjectStatusChange",
    "ProjectTarget",
    "ProjectTypeDefinition",
    "Region",
    "ReportReview",
    "ReporterScope",
    "ReviewEvent",
    "ScoreAdjustment",
    "SupervisionNotice",
    "TargetRevision",
    "TaskNote",
    "TaskRevision",
    "TierDefinition",
    "User",
]
