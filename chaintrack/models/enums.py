"""Every enumeration the schema holds. Values are stored as these strings and
enforced by CHECK constraints; Chinese labels are what clerks read."""

from __future__ import annotations

from enum import StrEnum


class LabelledEnum(StrEnum):
    """A string enumeration whose members carry a Chinese label."""

    label_zh: str

    def __new__(cls, value: str, label_zh: str = "") -> LabelledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label_zh = label_zh
        return obj


class ChainStatus(LabelledEnum):
    PLANNING = "planning", "谋划中"
    ACTIVE = "active", "推进中"
    ARCHIVED = "archived", "已归档"


class LeaderRole(LabelledEnum):
    CHIEF_LEADER = "chief_leader", "总链长"
    LEADER = "leader", "链长"
    DEPUTY = "deputy", "副链长"
    LIAISON = "liaison", "联络员"


class NodeKind(LabelledEnum):
    SEGMENT = "segment", "环节"
    SUB_SEGMENT = "sub_segment", "子环节"
    PRODUCT = "product", "产品"
    TECHNOLOGY = "technology", "技术"


class Stage(LabelledEnum):
    UPSTREAM = "upstream", "上游"
    MIDSTREAM = "midstream", "中游"
    DOWNSTREAM = "downstream", "下游"


class Assessment(LabelledEnum):
    STRONG = "strong", "强链（长板）"
    WEAK = "weak", "弱链（短板）"
    MISSING = "missing", "缺链（断链）"


class GapKind(LabelledEnum):
    SUPPLY = "supply", "供应缺口"
    TECHNOLOGY = "technology", "技术缺口"
    UPSTREAM = "upstream", "上游缺口"
    DOWNSTREAM = "downstream", "下游缺口"


class RelationKind(LabelledEnum):
    SUPPLY = "supply", "供应"
    TECHNOLOGY = "technology", "技术支撑"
    SERVICE = "service", "配套服务"


class FieldType(LabelledEnum):
    """Types a list type may declare for its entries' attributes."""

    TEXT = "text", "文本"
    INTEGER = "integer", "整数"
    DECIMAL = "decimal", "数值"
    DATE = "date", "日期"
    BOOLEAN = "boolean", "是/否"
    CHOICE = "choice", "选项"


class SizeClass(LabelledEnum):
    LARGE = "large", "大型"
    MEDIUM = "medium", "中型"
    SMALL = "small", "小型"
    MICRO = "micro", "微型"


class Ownership(LabelledEnum):
    STATE = "state", "国有"
    PRIVATE = "private", "民营"
    FOREIGN = "foreign", "外资"
    HMT = "hmt", "港澳台资"
    MIXED = "mixed", "混合所有制"
    COLLECTIVE = "collective", "集体"
    OTHER = "other", "其他"


class ListingStatus(LabelledEnum):
    UNLISTED = "unlisted", "未上市"
    MAIN_BOARD = "main_board", "主板"
    STAR = "star", "科创板"
    CHINEXT = "chinext", "创业板"
    BSE = "bse", "北交所"
    NEEQ = "neeq", "新三板"
    HONG_KONG = "hong_kong", "港股"
    OVERSEAS = "overseas", "境外上市"


class Tier(LabelledEnum):
    NAVIGATOR = "navigator", "产业链领航企业"
    SINGLE_CHAMPION_ENTERPRISE = "single_champion_enterprise", "制造业单项冠军示范企业"
    SINGLE_CHAMPION_PRODUCT = "single_champion_product", "制造业单项冠军产品"
    LITTLE_GIANT = "little_giant", "专精特新“小巨人”企业"
    SPECIALIZED_SME = "specialized_sme", "专精特新中小企业"
    GAZELLE = "gazelle", "瞪羚企业"
    UNICORN = "unicorn", "独角兽企业"
    QUASI_UNICORN = "quasi_unicorn", "准独角兽企业"


class Level(LabelledEnum):
    NATIONAL = "national", "国家级"
    PROVINCIAL = "provincial", "省级"
    CITY = "city", "市级"


class MembershipRole(LabelledEnum):
    CHAIN_MASTER = "chain_master", "链主企业"
    LEADING = "leading", "龙头骨干企业"
    SUPPORTING = "supporting", "配套企业"


class ProjectType(LabelledEnum):
    BUILD = "build", "建链"
    FILL = "fill", "补链"
    EXTEND = "extend", "延链"
    STRENGTHEN = "strengthen", "强链"


class ProjectNature(LabelledEnum):
    NEW = "new", "新建"
    EXPANSION = "expansion", "扩建"
    RENOVATION = "renovation", "技术改造"
    OTHER = "other", "其他"


class ProjectLevel(LabelledEnum):
    PROVINCIAL = "provincial", "省级"
    CITY = "city", "市级"
    COUNTY = "county", "县级"


class ProjectStatus(LabelledEnum):
    PLANNED = "planned", "谋划"
    SIGNED = "signed", "签约"
    UNDER_CONSTRUCTION = "under_construction", "在建"
    COMPLETED = "completed", "竣工"
    IN_OPERATION = "in_operation", "投产运营"
    SUSPENDED = "suspended", "暂停"
    CANCELLED = "cancelled", "取消"


class ProblemStatus(LabelledEnum):
    OPEN = "open", "未解决"
    RESOLVED = "resolved", "已解决"


# --- the problem loop (问题/诉求 闭环): see chaintrack/problems/rules.py ------------------


class ProblemSubject(LabelledEnum):
    PROJECT = "project", "项目"
    ENTERPRISE = "enterprise", "企业"
    CHAIN = "chain", "产业链"


class ProblemState(LabelledEnum):
    PENDING = "pending", "待受理"
    IN_PROGRESS = "in_progress", "办理中"
    HANDLED = "handled", "已办结"
    RATED = "rated", "已评价"
    RETURNED = "returned", "已退回"


class ProblemLevel(LabelledEnum):
    """The level holding a problem, bottom to top (上报 moves one up)."""

    COUNTY = "county", "县级"
    CITY = "city", "市级"
    PROVINCE = "province", "省专班"
    LEADER = "leader", "链长"


class Satisfaction(LabelledEnum):
    SATISFIED = "satisfied", "满意"
    FAIRLY = "fairly", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class ProblemAction(LabelledEnum):
    RAISE = "raise", "提出"
    MIGRATE = "migrate", "迁入"
    ACCEPT = "accept", "受理"
    RETURN = "return", "退回"
    ESCALATE = "escalate", "上报"
    ASSIGN = "assign", "调整责任/期限"
    HANDLE = "handle", "办结"
    RATE = "rate", "评价"
    SUPERVISE = "supervise", "督办"
    REPLY = "reply", "督办回复"


class UserRole(LabelledEnum):
    ADMIN = "admin", "管理员"
    EDITOR = "editor", "链编辑"
    VIEWER = "viewer", "只读"
    REPORTER = "reporter", "填报员"


class AuditAction(LabelledEnum):
    CREATE = "create", "新增"
    UPDATE = "update", "修改"
    DELETE = "delete", "删除"


class ReviewState(LabelledEnum):
    PENDING = "pending", "待审核"
    ACCEPTED = "accepted", "已通过"
    RETURNED = "returned", "已退回"


class ReviewAction(LabelledEnum):
    SUBMIT = "submit", "报送"
    RESUBMIT = "resubmit", "重新报送"
    ACCEPT = "accept", "通过"
    RETURN = "return", "退回"
