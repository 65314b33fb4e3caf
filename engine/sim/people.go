package sim

import (
	"fmt"
	"time"
)

// Surnames, common ones repeated so that they come up more often; 沈, 朱,
// 陆, 钱, 顾 and 姚 are frequent in 嘉兴.
var surnames = []string{
	"王", "王", "李", "李", "张", "张", "陈", "陈", "沈", "沈", "徐", "徐", "朱", "朱", "陆", "陆",
	"钱", "顾", "姚", "吴", "周", "金", "褚", "蒋", "杨", "孙", "许", "胡", "俞", "盛", "潘", "屠",
	"费", "范", "曹", "戴", "冯", "何", "黄", "刘", "马", "邱", "施", "宋", "汤", "唐", "汪", "魏",
	"夏", "谢", "严", "叶", "袁", "郑", "钟", "邹", "赵", "郭", "高", "林", "方", "丁",
}

var maleGiven = []rune("伟强磊军勇杰涛明超斌建国华平峰浩宇鹏俊晨志刚海林东波辉文鑫凯健新忠良荣兴宏昊轩睿博")

var femaleGiven = []rune("芳娜敏静丽艳燕霞婷玲红梅琳雪慧颖倩洁娟萍晶蓉佳悦怡欣琴瑶雯秀英凤丹妍诗")

// personName returns a random Chinese name of one or two given characters.
func personName(r *rng, male bool) string {
	given := femaleGiven
	if male {
		given = maleGiven
	}
	name := pick(r, surnames) + string(pick(r, given))
	if r.chance(0.65) {
		name += string(pick(r, given))
	}
	return name
}

// idWeights and idCheck are the weights and check characters of the
// 18-character resident identity number (GB 11643-1999).
var (
	idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	idCheck   = "10X98765432"
)

// idCheckDigit returns the check character of the first 17 digits of an
// identity number.
func idCheckDigit(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}

// idNumber returns a well-formed identity number: region code, birth date,
// a sequence whose last digit is odd for men and even for women, and the
// check character.
func idNumber(r *rng, region string, birth time.Time, male bool) string {
	seq := r.intn(100)*10 + r.intn(5)*2
	if male {
		seq++
	}
	first := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq)
	return first + string(idCheckDigit(first))
}

// person is a visitor: who they are and how they appear at the gate.
type person struct {
	id   string
	name string
}

var (
	birthFrom = time.Date(1958, 1, 1, 0, 0, 0, 0, time.UTC)
	birthDays = int(time.Date(2004, 12, 31, 0, 0, 0, 0, time.UTC).Sub(birthFrom).Hours() / 24)
)

// newPerson returns an adult of 嘉兴: most from the school's own county.
func newPerson(r *rng, home *county) person {
	region := home.region
	if r.chance(0.2) {
		region = pick(r, counties).region
	}
	male := r.chance(0.55)
	birth := birthFrom.AddDate(0, 0, r.intn(birthDays+1))
	return person{id: idNumber(r, region, birth, male), name: personName(r, male)}
}
