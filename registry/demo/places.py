"""The synthetic district's places and names: districts, streets, communities, roads, surnames, given-name characters and employers, drawn from pools built once rather than from Faker per row."""

from __future__ import annotations

HOME_DISTRICT = "440604"


CITY_DISTRICTS = ("440605", "440606", "440607", "440608")


# Where migrants' hukou is: elsewhere in Guangdong, then neighbouring provinces.
OUTSIDE_DISTRICTS = (
    "445202",
    "445281",
    "441502",
    "440882",
    "430102",
    "431102",
    "450102",
    "360102",
    "510104",
    "420102",
)


DISTRICT_NAMES = {
    "440604": "禅城区",
    "440605": "南海区",
    "440606": "顺德区",
    "440607": "三水区",
    "440608": "高明区",
    "445202": "揭阳市榕城区",
    "445281": "普宁市",
    "441502": "汕尾市城区",
    "440882": "雷州市",
    "430102": "长沙市芙蓉区",
    "431102": "永州市零陵区",
    "450102": "南宁市兴宁区",
    "360102": "南昌市东湖区",
    "510104": "成都市锦江区",
    "420102": "武汉市江岸区",
}


STREET_NAMES = (
    "祖庙",
    "石湾镇",
    "张槎",
    "南庄",
    "朝安",
    "普君",
    "澜石",
    "亚艺",
    "季华",
    "同济",
    "福贤",
    "汾江",
)


COMMUNITY_NAMES = (
    "岭南",
    "升平",
    "福宁",
    "莲花",
    "文华",
    "新风",
    "朝东",
    "保安",
    "永红",
    "东方",
    "建设",
    "环市",
    "惠景",
    "绿景",
)


ROADS = (
    "祖庙路",
    "季华四路",
    "汾江中路",
    "岭南大道",
    "佛山大道",
    "卫国路",
    "亲仁路",
    "文华北路",
    "绿景路",
    "华远东路",
)


# Surnames in rough order of frequency: the first ones are drawn more often.
SURNAMES = (
    "陈李黄张梁林刘吴罗何郑杨周谢冯麦曾邓叶蔡潘朱卢苏彭钟钟余徐江区伍霍关胡赖莫严方许孔"
    "温戴韦邱谭庞骆萧唐袁孙马高欧程宋廖汤崔容甘覃姚冼颜池傅卓龙"
)


GIVEN_CHARACTERS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红丹玲辉鹏婷雪琳建志宇浩然子轩"
    "梓涵欣怡诗雨嘉俊铭思佳文博宏晓燕海峰嘉慧颖瑶晨希睿泽航锦昊一诺家乐梓轩宛若健康永安"
)


EMPLOYERS = (
    "佛山市禅城区恒信五金制品有限公司",
    "广东美的生活电器制造有限公司",
    "佛山市顺德区海天调味食品有限公司",
    "佛山市南海区联邦家私有限公司",
    "佛山市禅城区新城物业管理有限公司",
    "广东石湾陶瓷集团有限公司",
    "佛山市汾江物流有限公司",
    "佛山市祖庙餐饮服务有限公司",
    "佛山市季华纺织有限公司",
    "佛山市岭南建筑工程有限公司",
)
