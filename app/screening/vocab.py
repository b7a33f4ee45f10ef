"""Word tables for normalisation: legal forms, trade-document abbreviations, generic industry
words, place names, and their Chinese counterparts.

Kinds decide weight in scoring: legal forms and stop words weigh nothing, generic industry
words and place names weigh little (hard negatives share them with listed firms), everything
else is a "core" token weighted by how rare it is across the lists.
"""

from __future__ import annotations

# Latin legal-form words (single tokens after folding; "Co., Ltd." -> co, ltd).
LEGAL_FORMS: frozenset[str] = frozenset(
    """
    co company companies cos ltd limited corp corporation corps inc incorporated llc llp
    lp plc jsc pjsc ojsc cjsc ojs zao oao ooo pao gmbh ag kg sa sas sarl srl spa bv nv
    pte pty liability group grp holding holdings hldgs holdg coltd sdn bhd tbk kk
    youxian gongsi youxiangongsi gufen jituan zerengongsi konggu
    """.split()  # noqa: SIM905
)

# Connectives and titles carry no identity.
STOP_WORDS: frozenset[str] = frozenset(
    """
    and the of for de del la le des du da di von van y e et und a an in at on number mr
    mrs ms dr sir gen col maj lt capt prof
    """.split()  # noqa: SIM905
)

# Trade-document abbreviations and inflections -> one canonical token. Both sides of a
# comparison go through this, so "PROD" (product or production) and "Production" agree.
CANONICAL: dict[str, str] = {}
_GROUPS: dict[str, str] = {
    "product": "prod prods product products production productions produce produces",
    "construction": "constr const construct construction constructions",
    "technology": "tech techn techno technol technology technologies technological",
    "industry": "ind indl indus industrial industries industry industrials",
    "manufacturing": "mfg mfr mfrs manuf manufacturing manufacture manufacturer manufacturers",
    "international": "intl int'l internat international",
    "material": "mat mats matl matls material materials",
    "electric": "elec elect electric electrical electronic electronics electro",
    "trading": "trdg trade trading trades trader traders",
    "development": "devt devp dvlp devel development developments develop",
    "engineering": "eng engg engr engineering engineer engineers",
    "equipment": "equip eqpt equipment equipments",
    "import": "imp import imports importer importers",
    "export": "exp export exports exporter exporters",
    "investment": "invest invt investment investments",
    "textile": "txtl textile textiles",
    "garment": "gmt gmts garment garments",
    "apparel": "appl apparel apparels",
    "accessory": "accs access accessory accessories",
    "communication": "comm comms communication communications",
    "service": "svc svcs srv srvc srvcs srvces serv service services",
    "logistics": "logistic logistics",
    "science": "sci science sciences scientific",
    "agriculture": "agri agric agricultural agriculture",
    "chemical": "chem chemical chemicals",
    "pharmaceutical": "pharm pharma pharmaceutical pharmaceuticals",
    "association": "assoc assn association",
    "department": "dept department",
    "management": "mgmt mgt management",
    "enterprise": "entp enterprise enterprises",
    "national": "natl national",
    "center": "ctr cntr center centre centers centres",
    "university": "univ university",
    "institute": "inst institute",
    "brothers": "bros brothers",
    "mining": "mining mines mine",
    "metal": "metal metals metallurgical metallurgy",
    "food": "food foods foodstuff foodstuffs",
    "energy": "energy energies",
    "shoe": "shoe shoes",
    "fiber": "fiber fibers fibre fibres",
    "warehouse": "warehouse warehouses warehousing whse",
    "number": "no nr num number",
    # English and Uyghur-derived spellings of places -> the pinyin that hanzi names produce.
    "hetian": "hetian hotan khotan",
    "kashi": "kashi kashgar",
    "tulufan": "tulufan turpan turfan",
    "wulumuqi": "wulumuqi urumqi urumchi",
    "yining": "yining ghulja gulja",
    "kuche": "kuche kuqa",
    "kelamayi": "kelamayi karamay",
    "kuerle": "kuerle korla",
    "aletai": "aletai altay",
    "luopu": "luopu lop",
    "hami": "hami kumul",
    "yili": "yili ili",
    "akesu": "akesu aksu",
    "uyghur": "uyghur uighur uygur weiwuer",
    "mountain": "mount mountain",
    "saint": "saint",
}
for _canonical, _words in _GROUPS.items():
    for _w in _words.split():
        CANONICAL[_w] = _canonical

# Industry and business words: low weight. Hard negatives share these with listed firms.
GENERIC: frozenset[str] = frozenset(
    """
    product construction technology industry manufacturing international material
    electric trading development engineering equipment import export investment textile
    garment apparel accessory communication service logistics science agriculture
    chemical pharmaceutical enterprise center food energy shoe fiber warehouse metal
    mining new energy solar silicon polysilicon cotton linen wool yarn spinning weaving
    knitting dyeing printing fabric fashion clothing hair wig tomato sugar steel iron
    aluminum aluminium nonferrous copper zinc gold coal power chemical biotech
    biotechnology bio pharmacy machinery machine automation auto automotive motor
    battery photovoltaic pv semiconductor information info digital software network data
    system systems smart optoelectronic optical trading commerce commercial business
    supply chain storage transport transportation shipping freight express cargo marine
    ocean air agricultural farm farming plantation fruit vegetable trade economic
    economy general industrial park zone area station office bureau branch factory plant
    mill works workshop processing process color colour household home medical health
    healthcare medicine herbal plastic plastics rubber paper packaging package glass
    ceramic ceramics cement building build real estate property properties capital
    finance financial bank asset assets fund resources resource oil gas petroleum
    petrochemical mineral minerals environmental environment protection green ecological
    eco water electronic design media culture education training vocational skills union
    import bioscience biological biology seed seeds canned cereals oils oil feed dairy
    meat hi high tech sci supplies supply sales selling sale store stores shop mall
    market chinese china asia asian global world universal overseas foreign domestic
    first second third one two three fangzhi mianye keji maoyi nengyuan shiye gongye
    huaxue guiye cailiao fushi fashi nongye wuliu cangchu shipin shengwu jishu fazhan
    touzi jinchukou guoji dianzi kuangye jinshu gangtie shangmao jingji kaifa zhiye
    fuzhuang mianfang mianhua xinxi sefang meidian youse tangye guangdian xincailiao
    """.split()  # noqa: SIM905
)

# Place names (pinyin and common English forms): low weight in names, a risk signal elsewhere.
PLACES: frozenset[str] = frozenset(
    """
    xinjiang uyghur xuar wulumuqi aksu akesu kashgar kashi hotan hetian khotan turpan
    tulufan shihezi changji hami kumul yili ili ghulja yining karamay kelamayi korla
    kuerle bayingolin bazhou altay aletai tacheng bortala kizilsu kezilesu kuqa kuche
    kuitun wujiaqu tumxuk tumushuke alar alaer beitun tiemenguan kokdala huyanghe
    shuanghe shanshan lop luopu moyu pishan yutian qiemo minfeng yecheng shache awati
    shaya yanqi zhundong habahe jimunai fukang tianshan shuimogou toutunhe midong
    dabancheng tibet xizang lhasa qinghai gansu ningxia inner mongolia neimenggu beijing
    shanghai tianjin chongqing guangzhou shenzhen hangzhou nanjing suzhou wuxi changzhou
    ningbo wenzhou jinan qingdao zhengzhou wuhan changsha chengdu xian xiamen fuzhou
    hefei nanchang kunming guiyang nanning haikou shijiazhuang taiyuan hohhot baotou
    shenyang dalian changchun harbin lanzhou xining yinchuan zhuhai dongguan foshan
    jiangyin baoding anhui fujian guangdong guangxi guizhou hainan hebei henan
    heilongjiang hubei hunan jiangsu jiangxi jilin liaoning shaanxi shandong shanxi
    sichuan yunnan zhejiang hong kong hongkong macau macao taiwan province city county
    district autonomous region prefecture municipality
    """.split()  # noqa: SIM905
)

# Coverage phrases that extend a listing; stripped from the name before matching.
COVERAGE_PHRASES: tuple[str, ...] = (
    "and its subordinate and affiliated entities",
    "and subordinate and affiliated entities",
    "and its subsidiaries",
    "and subsidiaries",
    "and its subsidiary",
    "and affiliates",
)

# Chinese: legal-form suffixes (longest first), generic words, places and admin suffixes.
HAN_LEGAL: tuple[str, ...] = (
    "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司", "有限公司", "集团公司",
    "分公司", "总公司", "控股", "集团", "公司", "股份", "有限",
)  # fmt: skip
HAN_GENERIC: frozenset[str] = frozenset(
    """
    纺织 棉业 棉花 棉麻 毛纺 毛纺织 服饰 服装 发饰 发制品 科技 技术 贸易
    商贸 能源 新能源 实业 工业 化学 化工 硅业 材料 新材料 农业 物流 仓储
    食品
    生物 发展 投资 进出口 国际 电子 光电 矿业 有色金属 金属 钢铁 制品
    产品 生产 建设 开发 经济 工程 机械 设备 信息 数字 环保 医药 药业
    电力 煤电
    电气 供应链 色纺 纱线 印染 针织 鞋业 果蔬 番茄 糖业 农产品 畜牧 制造 加工 厂 中心
    """.split()  # noqa: SIM905
)
HAN_PLACES: frozenset[str] = frozenset(
    """
    新疆 乌鲁木齐 阿克苏 喀什 和田 吐鲁番 石河子 昌吉 哈密 伊犁 克拉玛依
    库尔勒 巴音郭楞 阿勒泰 塔城 博尔塔拉 库车 奎屯 五家渠 图木舒克 阿拉尔
    鄯善
    洛浦 墨玉 皮山 阿瓦提 沙雅 焉耆 准东 哈巴河 阜康 西藏 拉萨 青海 甘肃
    宁夏 内蒙古 包头 北京 上海 天津 重庆 广州 深圳 杭州 南京 苏州 无锡
    常州
    宁波 济南 青岛 郑州 武汉 长沙 成都 西安 厦门 福州 合肥 南昌 昆明
    贵阳 南宁 沈阳 大连 长春 哈尔滨 兰州 珠海 东莞 江阴 保定 安徽 福建
    广东 广西
    贵州 海南 河北 河南 湖北 湖南 江苏 江西 吉林 辽宁 陕西 山东 山西
    四川 云南 浙江 香港 澳门 中国 新疆维吾尔自治区 自治区
    """.split()  # noqa: SIM905
)
HAN_STOP: frozenset[str] = frozenset(["市", "县", "省", "区", "及", "和", "与", "的"])

# Two-character Chinese compound surnames; everything else is a one-character surname.
HAN_COMPOUND_SURNAMES: frozenset[str] = frozenset(
    """
    欧阳 司马 诸葛 上官 司徒 东方 令狐 皇甫 尉迟 公孙 慕容 夏侯 长孙 宇文 轩辕 端木 独孤 南宫
    """.split()  # noqa: SIM905
)

# Toneless pinyin syllables (u for u-umlaut). A word that splits into these is read as a Chinese
# name: a one-letter change between two such words ("Daqin"/"Daqing", "Yixin"/"Yixing") spells
# another name, not a typo; and syllable-by-syllable pinyin ("A Ke Su") keeps "a" as a syllable.
PINYIN_SYLLABLES: frozenset[str] = frozenset(
    """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can
    cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai
    chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den
    deng di dian diang diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang
    fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang
    gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang hui hun huo
    ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken
    keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian
    liang liao lie lin ling liu lo long lou lu luan lue lun luo ma mai man mang mao me mei men
    meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nia nian
    niang niao nie nin ning niu nong nou nu nuan nue nun nuo o ou pa pai pan pang pao pei pen
    peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu
    quan que qun ran rang rao re ren reng ri rong rou ru ruan rui run ruo sa sai san sang sao se
    sei sen seng sha shai shan shang shao she shei shen sheng shi shong shou shu shua shuai
    shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti
    tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia
    xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yai yan yang yao ye yi yin ying yo
    yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan zhang zhao zhe
    zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou zu
    zuan zui zun zuo
    """.split()  # noqa: SIM905
)
