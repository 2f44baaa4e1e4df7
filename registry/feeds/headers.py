"""INTERCHANGE.md's Chinese headers for the five feeds.

They are part of the contract, as the English column names are, so they are built in and
every import knows them; the names other departments or cities use are data, which a
steward adds (models.HeaderMapping, services.headers).
"""

# The name the built-in set goes by in reports and on the stewards' page.
INTERCHANGE_SET = "数据交换规范中文表头"

# {feed: {column: its Chinese header}}, in the order of INTERCHANGE.md's table.
CHINESE_HEADERS: dict[str, dict[str, str]] = {
    "hukou": {
        "id_number": "公民身份号码",
        "name": "姓名",
        "sex": "性别",
        "birth_date": "出生日期",
        "hukou_district_code": "户籍地行政区划代码",
        "community_code": "社区代码",
        "address": "住址",
        "registered_on": "户籍登记日期",
        "household_no": "户号",
    },
    "property": {
        "certificate_no": "不动产权证号",
        "owner_id_number": "权利人身份证号",
        "share_percent": "份额",
        "community_code": "社区代码",
        "address": "坐落",
        "registered_on": "登记日期",
    },
    "rental": {
        "registration_no": "备案编号",
        "tenant_id_number": "承租人身份证号",
        "community_code": "社区代码",
        "address": "房屋地址",
        "start_date": "租赁起始日期",
        "end_date": "租赁终止日期",
    },
    "social_insurance": {
        "id_number": "公民身份号码",
        "month": "缴费年月",
        "pension": "养老保险",
        "medical": "医疗保险",
        "employer_name": "单位名称",
    },
    "residence_permit": {
        "id_number": "公民身份号码",
        "permit_no": "居住证号",
        "district_code": "签发地行政区划代码",
        "issued_on": "签发日期",
        "expires_on": "有效期至",
    },
}
